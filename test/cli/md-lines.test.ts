// What `walink start --md` prints for a text it sent (docs/protocol-md.md §12.7): the server's ack and a
// typed failure, one line each.
import { describe, expect, it } from 'vitest';
import { mdLine } from '../../cli/md-lines.ts';

describe('the MD lines of walink start', () => {
  it('prints md.sent and md.send.failed with the reason', () => {
    expect(mdLine({ type: 'md.sent', id: '3EB0AA', to: '4917000000001@s.whatsapp.net' })).toBe(
      'sent      3EB0AA to 4917000000001@s.whatsapp.net (the server has it)',
    );
    expect(
      mdLine({
        type: 'md.send.failed',
        id: '3EB0BB',
        to: '4917000000999@s.whatsapp.net',
        reason: 'noDevices',
        detail: '4917000000999@s.whatsapp.net has no devices',
      }),
    ).toBe(
      'not sent  3EB0BB to 4917000000999@s.whatsapp.net: noDevices (4917000000999@s.whatsapp.net has no devices)',
    );
  });
});
