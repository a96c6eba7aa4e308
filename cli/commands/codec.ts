// `walink codec decode|encode`: binary nodes ⇄ JSON for people reading captures. Without --hex/--json
// each reads stdin line by line and answers one line per input line; a bad line gets an error line.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CodecError, decodeNode, encodeNode, jsonToNode, nodeToJson } from '../../codec/index.ts';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function decodeHexLine(line: string): string {
  const hex = line.trim().replace(/^0x/, '').replace(/\s+/g, '');
  if (!HEX_RE.test(hex)) throw new CodecError('BAD_NODE', 'input is not an even-length hex string');
  return JSON.stringify(nodeToJson(decodeNode(Buffer.from(hex, 'hex'))));
}

export function encodeJsonLine(line: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new CodecError('BAD_JSON', 'input is not JSON');
  }
  return Buffer.from(encodeNode(jsonToNode(value))).toString('hex');
}

function errorLine(error: unknown): string {
  if (error instanceof CodecError) {
    return JSON.stringify({ error: error.message, code: error.code, offset: error.offset });
  }
  return JSON.stringify({ error: error instanceof Error ? error.message : String(error) });
}

async function eachStdinLine(convert: (line: string) => string): Promise<void> {
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

function once(convert: (line: string) => string, input: string): void {
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
      if (options.hex !== undefined) once(decodeHexLine, options.hex);
      else await eachStdinLine(decodeHexLine);
    });
  codec
    .command('encode')
    .description('print a JSON node as hex; without --json, one node per stdin line')
    .option('--json <json>', 'one node as JSON')
    .action(async (options: { json?: string }) => {
      if (options.json !== undefined) once(encodeJsonLine, options.json);
      else await eachStdinLine(encodeJsonLine);
    });
}
