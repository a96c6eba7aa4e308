// What `walink start --md` prints for a text it sent (docs/protocol-md.md §12.7): the server's ack and a
// typed failure, one line each, through the human printer.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SessionAppEvent } from '../../actors/index.ts';
import { humanPrinter } from '../../cli/index.ts';

async function printed(event: SessionAppEvent): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => {
    text += String(chunk);
  });
  await humanPrinter(out, { color: false, terminal: false }).session(event);
  return text;
}

describe('the MD lines of walink start', () => {
  it('prints md.sent and md.send.failed with the reason', async () => {
    expect(await printed({ type: 'md.sent', id: '3EB0AA', to: '4917000000001@s.whatsapp.net' })).toMatch(
      /sent {6}3EB0AA to 4917000000001@s\.whatsapp\.net \(the server has it\)\n$/,
    );
    expect(
      await printed({
        type: 'md.send.failed',
        id: '3EB0BB',
        to: '4917000000999@s.whatsapp.net',
        reason: 'noDevices',
        detail: 'no devices',
      }),
    ).toMatch(/not sent {2}3EB0BB to 4917000000999@s\.whatsapp\.net: noDevices \(no devices\)\n$/);
  });
});
