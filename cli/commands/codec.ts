// `walink codec decode|encode`: binary nodes ⇄ JSON for people reading captures. Without --hex/--json
// each reads stdin line by line and answers one line per input line; a bad line gets an error line.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type * as CodecModule from '../../codec/index.ts';

type Codec = typeof CodecModule;
type Convert = (line: string) => string;

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

// The codec is loaded when a codec command runs, not when `walink` starts.
const loadCodec = (): Promise<Codec> => import('../../codec/index.ts');

export function hexLineDecoder(codec: Codec): Convert {
  return (line) => {
    const hex = line.trim().replace(/^0x/, '').replace(/\s+/g, '');
    if (!HEX_RE.test(hex)) throw new codec.CodecError('BAD_NODE', 'input is not an even-length hex string');
    return JSON.stringify(codec.nodeToJson(codec.decodeNode(Buffer.from(hex, 'hex'))));
  };
}

export function jsonLineEncoder(codec: Codec): Convert {
  return (line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new codec.CodecError('BAD_JSON', 'input is not JSON');
    }
    return Buffer.from(codec.encodeNode(codec.jsonToNode(value))).toString('hex');
  };
}

function errorLine(error: unknown): string {
  const { code, offset } = error as { code?: unknown; offset?: unknown };
  if (typeof code === 'string') {
    return JSON.stringify({ error: (error as Error).message, code, offset });
  }
  return JSON.stringify({ error: error instanceof Error ? error.message : String(error) });
}

async function eachStdinLine(convert: Convert): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      process.stdout.write(`${convert(line)}\n`);
    } catch (error) {
      process.stdout.write(`${errorLine(error)}\n`);
    }
  }
}

function once(convert: Convert, input: string): void {
  try {
    process.stdout.write(`${convert(input)}\n`);
  } catch (error) {
    process.stderr.write(`${errorLine(error)}\n`);
    process.exitCode = 1;
  }
}

export function registerCodecCommands(program: Command): void {
  const codec = program.command('codec').description('decode and encode legacy binary nodes (hex ⇄ JSON)');
  codec
    .command('decode')
    .description(
      'print a hex-encoded node as JSON (bytes as {"hex": …}); without --hex, one node per stdin line',
    )
    .option('--hex <hex>', 'one node in hex')
    .action(async (options: { hex?: string }) => {
      const decode = hexLineDecoder(await loadCodec());
      if (options.hex !== undefined) once(decode, options.hex);
      else await eachStdinLine(decode);
    });
  codec
    .command('encode')
    .description('print a JSON node as hex; without --json, one node per stdin line')
    .option('--json <json>', 'one node as JSON')
    .action(async (options: { json?: string }) => {
      const encode = jsonLineEncoder(await loadCodec());
      if (options.json !== undefined) once(encode, options.json);
      else await eachStdinLine(encode);
    });
}
