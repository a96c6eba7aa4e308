import { describe, expect, it } from 'vitest';
import {
  childNodes,
  contentBytes,
  contentText,
  decodeMdNode,
  encodeMdNode,
  findChild,
  findChildren,
  getAttr,
  getIntAttr,
  type MdNode,
  mdNode,
  requireAttr,
  requireChild,
  requireIntAttr,
  requireJidAttr,
} from '../../../codec/md/index.ts';

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

// A pre-key count result as the server sends it, decoded from the wire so the helpers see decoder output.
const stanza: MdNode = decodeMdNode(
  encodeMdNode(
    mdNode('iq', { from: '@s.whatsapp.net', type: 'result', id: '7', t: '1767225700', bad: '12x' }, [
      mdNode('count', { value: '42' }),
      mdNode('item', { jid: '15551234567:3@s.whatsapp.net' }, Uint8Array.of(1, 2)),
      mdNode('item', {}, 'hello world'),
    ]),
    3,
  ),
  3,
);

describe('node readers', () => {
  it('find children by tag', () => {
    expect(childNodes(stanza).map((c) => c.tag)).toEqual(['count', 'item', 'item']);
    expect(findChild(stanza, 'count')?.attrs['value']).toBe('42');
    expect(findChild(stanza, 'nope')).toBeUndefined();
    expect(findChildren(stanza, 'item').length).toBe(2);
    expect(requireChild(stanza, 'count').tag).toBe('count');
    expect(code(() => requireChild(stanza, 'nope'))).toBe('MISSING_CHILD');
    expect(childNodes(findChild(stanza, 'count')!)).toEqual([]);
  });

  it('read attributes with typed errors', () => {
    expect(getAttr(stanza, 'type')).toBe('result');
    expect(getAttr(stanza, 'toString')).toBeUndefined();
    expect(requireAttr(stanza, 'id')).toBe('7');
    expect(code(() => requireAttr(stanza, 'toString'))).toBe('MISSING_ATTR');
    expect(getIntAttr(stanza, 't')).toBe(1767225700);
    expect(getIntAttr(stanza, 'missing')).toBeUndefined();
    expect(code(() => getIntAttr(stanza, 'bad'))).toBe('BAD_ATTR');
    expect(requireIntAttr(stanza, 'id')).toBe(7);
    expect(code(() => requireIntAttr(stanza, 'missing'))).toBe('MISSING_ATTR');
    expect(requireJidAttr(findChildren(stanza, 'item')[0]!, 'jid')).toEqual({
      user: '15551234567',
      server: 's.whatsapp.net',
      device: 3,
    });
    expect(code(() => requireJidAttr(stanza, 'type'))).toBe('BAD_JID');
  });

  it('read content as bytes or text whichever form it came in', () => {
    const [withBytes, withText] = findChildren(stanza, 'item');
    expect(contentBytes(withBytes!)).toEqual(Uint8Array.of(1, 2));
    expect(contentText(withText!)).toBe('hello world');
    // "hello world" is not a token, so it went over the wire raw and the decoder gave bytes
    expect(withText!.content).toBeInstanceOf(Uint8Array);
    expect(contentBytes(mdNode('x', {}, 'é'))).toEqual(Uint8Array.of(0xc3, 0xa9));
    expect(contentText(mdNode('x', {}, 'é'))).toBe('é');
    expect(code(() => contentBytes(stanza))).toBe('BAD_CONTENT');
    expect(code(() => contentText(findChild(stanza, 'count')!))).toBe('BAD_CONTENT');
  });
});
