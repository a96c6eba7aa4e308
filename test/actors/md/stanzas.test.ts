// The companion's stanzas (actors/md/stanzas.ts) and the parser of the server's (actors/md/parse.ts), as
// docs/protocol-md.md §6-§14 writes them; the vector nodes of pair-code.json and pairing.json where they exist.
import { describe, expect, it } from 'vitest';
import { type IqKind, isStanzaError, parseStanza, stanzas } from '../../../actors/md/index.ts';
import { md } from '../../../codec/index.ts';
import { hex, pairCodeVectors, pairingVectors } from '../../support/md-vectors.ts';

const node = md.mdNode;
const bytesOf = (n: md.MdNode) => md.contentBytes(n);
/** Through the wire and back (v3), as the server reads it. */
const wire = (n: md.MdNode) => md.decodeMdNode(md.encodeMdNode(n, 3), 3);

describe('what the companion sends', () => {
  it('acks pair-device and answers pair-success with pair-device-sign or the error IQ (§6.1, §6.6)', () => {
    expect(wire(stanzas.iqResult('p1'))).toEqual(
      node('iq', { id: 'p1', to: 's.whatsapp.net', type: 'result' }),
    );
    const vector = pairingVectors().adv.pairDeviceSign;
    const sign = wire(stanzas.pairDeviceSign('srv-ps-1', hex(vector.signedDeviceIdentity), 5));
    const expected = md.decodeMdNode(
      hex((vector as unknown as { replyNodeHexV2: string }).replyNodeHexV2),
      2,
    );
    // The vector's reply (Baileys writes to="@s.whatsapp.net", the same server, §5.3).
    expect(sign.attrs).toEqual({ ...expected.attrs, to: 's.whatsapp.net' });
    const identity = md.requireChild(md.requireChild(sign, 'pair-device-sign'), 'device-identity');
    const expectedIdentity = md.requireChild(
      md.requireChild(expected, 'pair-device-sign'),
      'device-identity',
    );
    expect(identity.attrs).toEqual({ 'key-index': '5' });
    expect(bytesOf(identity)).toEqual(bytesOf(expectedIdentity));
    const error = wire(stanzas.errorIq('srv-ps-1', 401, 'hmac-mismatch'));
    expect(error.attrs).toMatchObject({ type: 'error', id: 'srv-ps-1' });
    expect(md.requireChild(error, 'error').attrs).toEqual({ code: '401', text: 'hmac-mismatch' });
    expect(() => stanzas.pairDeviceSign('x', new Uint8Array(1), -1)).toThrow(TypeError);
  });

  it('writes companion_hello and companion_finish as §7.3 and §7.5 do (the vector’s stage 3 node)', () => {
    const wrapped = new Uint8Array(80).fill(2);
    const noise = new Uint8Array(32).fill(3);
    const hello = wire(
      stanzas.companionHello({
        id: 'c1',
        phone: '15551234567',
        wrappedEphemeral: wrapped,
        noisePublicKey: noise,
      }),
    );
    expect(hello.attrs).toEqual({ id: 'c1', to: 's.whatsapp.net', type: 'set', xmlns: 'md' });
    const reg = md.requireChild(hello, 'link_code_companion_reg');
    expect(reg.attrs).toEqual({
      jid: '15551234567@s.whatsapp.net',
      stage: 'companion_hello',
      should_show_push_notification: 'true',
    });
    expect(bytesOf(md.requireChild(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub'))).toEqual(
      wrapped,
    );
    expect(bytesOf(md.requireChild(reg, 'companion_server_auth_key_pub'))).toEqual(noise);
    expect(md.contentText(md.requireChild(reg, 'companion_platform_id'))).toBe('1');
    expect(md.contentText(md.requireChild(reg, 'companion_platform_display'))).toBe('Chrome (Linux)');
    expect(bytesOf(md.requireChild(reg, 'link_code_pairing_nonce'))).toEqual(Uint8Array.of(0));

    const vector = pairCodeVectors() as unknown as { companionFinish: { nodeHexV2: string } };
    const expected = md.requireChild(
      md.decodeMdNode(hex(vector.companionFinish.nodeHexV2), 2),
      'link_code_companion_reg',
    );
    const finish = md.requireChild(
      wire(
        stanzas.companionFinish({
          id: 'c2',
          phone: '15551234567',
          wrappedKeyBundle: bytesOf(md.requireChild(expected, 'link_code_pairing_wrapped_key_bundle')),
          identityPublicKey: bytesOf(md.requireChild(expected, 'companion_identity_public')),
          ref: md.contentText(md.requireChild(expected, 'link_code_pairing_ref')),
        }),
      ),
      'link_code_companion_reg',
    );
    expect(finish.attrs).toEqual(expected.attrs);
    expect(md.childNodes(finish).map((child) => [child.tag, bytesOf(child)])).toEqual(
      md.childNodes(expected).map((child) => [child.tag, bytesOf(child)]),
    );
  });

  it('writes the IQs after login, acks, receipts and logout (§9, §11, §12.4, §14)', () => {
    expect(md.requireChild(wire(stanzas.preKeyCount('k')), 'count')).toBeDefined();
    const upload = wire(
      stanzas.preKeyUpload({
        id: 'u',
        registrationId: 4660,
        identityPublicKey: new Uint8Array(32).fill(1),
        preKeys: [{ keyId: 0x010203, publicKey: new Uint8Array(32).fill(4) }],
        signedPreKey: {
          keyId: 1,
          publicKey: new Uint8Array(32).fill(5),
          signature: new Uint8Array(64).fill(6),
        },
      }),
    );
    expect(upload.attrs).toMatchObject({ xmlns: 'encrypt', type: 'set' });
    expect(bytesOf(md.requireChild(upload, 'registration'))).toEqual(Uint8Array.of(0, 0, 0x12, 0x34));
    expect(bytesOf(md.requireChild(upload, 'type'))).toEqual(Uint8Array.of(5));
    const key = md.requireChild(md.requireChild(upload, 'list'), 'key');
    expect(bytesOf(md.requireChild(key, 'id'))).toEqual(Uint8Array.of(1, 2, 3));
    expect(bytesOf(md.requireChild(md.requireChild(upload, 'skey'), 'id'))).toEqual(Uint8Array.of(0, 0, 1));
    expect(wire(stanzas.passiveActive('a')).attrs).toMatchObject({ xmlns: 'passive', type: 'set' });
    expect(wire(stanzas.ping('p')).attrs).toMatchObject({ xmlns: 'w:p', type: 'get' });
    expect(
      wire(stanzas.ack({ id: 'm', to: 'x@s.whatsapp.net', class: 'message', type: 'text' })).attrs,
    ).toEqual({
      id: 'm',
      to: 'x@s.whatsapp.net',
      class: 'message',
      type: 'text',
    });
    expect(wire(stanzas.receipt({ id: 'm', to: 'x@s.whatsapp.net', type: 'inactive' })).attrs).toEqual({
      id: 'm',
      to: 'x@s.whatsapp.net',
      type: 'inactive',
    });
    const logout = wire(stanzas.removeCompanionDevice('l', '15551234567:1@s.whatsapp.net'));
    expect(md.requireChild(logout, 'remove-companion-device').attrs).toEqual({
      jid: '15551234567:1@s.whatsapp.net',
      reason: 'user_initiated',
    });
  });
});

describe('what the server sends, parsed', () => {
  const kinds = new Map<string, IqKind>([
    ['hello', 'companionHello'],
    ['finish', 'companionFinish'],
    ['count', 'preKeyCount'],
    ['upload', 'preKeyUpload'],
    ['passive', 'passiveActive'],
    ['ping', 'ping'],
    ['logout', 'logout'],
  ]);
  const parse = (n: md.MdNode) => parseStanza(wire(n), (id) => kinds.get(id));
  const refs = ['2@a', '2@b'].map((ref) => node('ref', {}, new TextEncoder().encode(ref)));

  it('types pair-device, companion_hello answers and primary_hello (§6.1, §7.3, §7.4, §7.6)', () => {
    expect(
      parse(
        node('iq', { id: 'pd', type: 'set', xmlns: 'md', from: 's.whatsapp.net' }, [
          node('pair-device', {}, refs),
        ]),
      ),
    ).toEqual({
      type: 'server.pairDevice',
      iqId: 'pd',
      refs: ['2@a', '2@b'],
    });
    const accepted = node('iq', { id: 'hello', type: 'result' }, [
      node('link_code_companion_reg', {}, [
        node('link_code_pairing_ref', {}, new TextEncoder().encode('3@x')),
      ]),
    ]);
    expect(parse(accepted)).toEqual({ type: 'server.codeAccepted', ref: '3@x' });
    const refused = node('iq', { id: 'hello', type: 'error' }, [
      node('error', { code: '429', text: 'rate-overlimit', backoff: '60' }),
    ]);
    expect(parse(refused)).toEqual({
      type: 'server.codeRejected',
      status: 429,
      text: 'rate-overlimit',
      backoff: 60,
    });
    const hello = node(
      'notification',
      { id: 'n1', from: 's.whatsapp.net', type: 'link_code_companion_reg' },
      [
        node('link_code_companion_reg', { stage: 'primary_hello' }, [
          node('link_code_pairing_ref', {}, new TextEncoder().encode('3@x')),
          node('link_code_pairing_wrapped_primary_ephemeral_pub', {}, new Uint8Array(80).fill(1)),
          node('primary_identity_pub', {}, new Uint8Array(32).fill(2)),
        ]),
      ],
    );
    expect(parse(hello)).toMatchObject({ type: 'server.primaryHello', id: 'n1', ref: '3@x' });
  });

  it('types success, failure and each stream error (§8.3, §10)', () => {
    expect(parse(node('success', { t: '1700000000', lid: '1:2@lid' }))).toEqual({
      type: 'server.success',
      lid: '1:2@lid',
      t: 1_700_000_000,
    });
    expect(parse(node('failure', { reason: '405', location: 'fra' }))).toEqual({
      type: 'server.failure',
      reason: 405,
      location: 'fra',
    });
    expect(parse(node('stream:error', { code: '515' }))).toEqual({
      type: 'server.streamError',
      code: 515,
      conflict: null,
      deviceRemoved: false,
    });
    expect(parse(node('stream:error', {}, [node('conflict', { type: 'replaced' })]))).toMatchObject({
      conflict: 'replaced',
      deviceRemoved: false,
    });
    expect(
      parse(node('stream:error', { code: '401' }, [node('conflict', { type: 'device_removed' })])),
    ).toMatchObject({
      code: 401,
      deviceRemoved: true,
    });
  });

  it('types the answers to the IQs after login, and a server ping', () => {
    expect(parse(node('iq', { id: 'count', type: 'result' }, [node('count', { value: '3' })]))).toEqual({
      type: 'server.preKeyCount',
      count: 3,
    });
    expect(parse(node('iq', { id: 'upload', type: 'result' }))).toEqual({ type: 'server.preKeysUploaded' });
    expect(parse(node('iq', { id: 'passive', type: 'result' }))).toEqual({ type: 'server.passiveActive' });
    expect(parse(node('iq', { id: 'ping', type: 'result' }))).toEqual({ type: 'server.pong' });
    expect(parse(node('iq', { id: 'logout', type: 'result' }))).toEqual({ type: 'server.logoutAccepted' });
    expect(
      parse(node('iq', { id: 'count', type: 'error' }, [node('error', { code: '500', text: 'x' })])),
    ).toEqual({
      type: 'server.iqError',
      iqId: 'count',
      code: 500,
      text: 'x',
    });
    expect(parse(node('iq', { id: 's1', type: 'get', xmlns: 'urn:xmpp:ping' }))).toEqual({
      type: 'server.iqRequest',
      iqId: 's1',
      xmlns: 'urn:xmpp:ping',
    });
  });

  it('types messages, receipts, notifications and the offline marker (§12, §13)', () => {
    const message = node(
      'message',
      { id: 'm1', from: '4917000000001@s.whatsapp.net', t: '5', type: 'text' },
      [node('enc', { v: '2', type: 'pkmsg' }, Uint8Array.of(0x33, 1))],
    );
    expect(parse(message)).toEqual({
      type: 'message',
      envelope: {
        id: 'm1',
        from: '4917000000001@s.whatsapp.net',
        t: 5,
        type: 'text',
        encs: [{ type: 'pkmsg', body: Uint8Array.of(0x33, 1) }],
      },
    });
    expect(parse(node('receipt', { id: 'r', from: 'a@s.whatsapp.net', type: 'read' }))).toEqual({
      type: 'server.receipt',
      id: 'r',
      from: 'a@s.whatsapp.net',
      receiptType: 'read',
    });
    expect(parse(node('receipt', { id: 'r', from: 'a@s.whatsapp.net' }))).toMatchObject({
      receiptType: null,
    });
    expect(parse(node('notification', { id: 'n', from: 's.whatsapp.net', type: 'devices' }))).toEqual({
      type: 'server.notification',
      id: 'n',
      from: 's.whatsapp.net',
      notificationType: 'devices',
    });
    expect(parse(node('ib', {}, [node('offline', { count: '2' })]))).toEqual({
      type: 'server.offline',
      count: 2,
    });
    expect(parse(node('presence', { from: 'a@s.whatsapp.net' }))).toEqual({
      type: 'ignored',
      tag: 'presence',
    });
  });

  it('refuses what lacks its parts with a typed StanzaError', () => {
    const bad = [
      node('iq', { id: 'pd', type: 'set' }, [node('pair-device')]),
      node('failure', {}),
      node('iq', { id: 'count', type: 'result' }),
      node('iq', { id: 'unknown', type: 'result' }),
      node('message', { id: 'm', from: 'not a jid' }),
      node('message', { id: 'm', from: 'a@s.whatsapp.net' }, [
        node('enc', { type: 'frob' }, Uint8Array.of(1)),
      ]),
      node('iq', { id: 'p', type: 'set' }, [
        node('pair-success', {}, [
          node('device-identity', {}, Uint8Array.of(1)),
          node('device', { jid: '%%' }),
        ]),
      ]),
    ];
    for (const stanza of bad) {
      let caught: unknown;
      try {
        parse(stanza);
      } catch (error) {
        caught = error;
      }
      expect(isStanzaError(caught), stanza.tag).toBe(true);
    }
  });
});
