// POST /md/faults: each MD step misbehaves on demand (docs/emulator.md "MD faults").
import { afterEach, describe, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import type { MdRawClient } from '../../support/md-raw-client.ts';
import { activeDevice, type Harness, harness, isPairSuccess, linkByQr, login, PHONE } from './helpers.ts';

let h: Harness;
afterEach(async () => h?.close());

async function fault(rule: Record<string, unknown>): Promise<void> {
  const answer = await h.post('/md/faults', rule);
  expect(answer.status).toBe(200);
}

async function registered(): Promise<MdRawClient> {
  const client = await h.connect();
  await client.register(h.emulator.md.rootPublicKey);
  return client;
}

describe('MD faults', () => {
  it('closes at the handshake: no ServerHello', async () => {
    h = await harness();
    await fault({ kind: 'closeSocket', at: 'handshake' });
    const client = await h.connect();
    await expect(client.register(h.emulator.md.rootPublicKey)).rejects.toThrow(/closed/);
    // One time only: the next connection handshakes.
    const next = await registered();
    expect(md.findChild(await next.nextTag('iq'), 'pair-device')).toBeDefined();
  });

  it('closes instead of pair-device, or sends it late', async () => {
    h = await harness();
    await fault({ kind: 'closeSocket', at: 'pair-device' });
    const closed = await registered();
    await closed.waitClosed();
    expect(closed.log).toEqual([]);
    await fault({ kind: 'delay', at: 'pair-device', ms: 80 });
    const late = await registered();
    const started = performance.now();
    await late.nextTag('iq');
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('closes instead of pair-success: the scan answers 422', async () => {
    h = await harness();
    await fault({ kind: 'closeSocket', at: 'pair-success' });
    const client = await registered();
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
    const answer = await h.post(`/md/phones/${PHONE}/scan`, { qr });
    expect(answer.status).toBe(422);
    await client.waitClosed();
    expect(client.log.some(isPairSuccess)).toBe(false);
  });

  it('delays pair-success', async () => {
    h = await harness();
    await fault({ kind: 'delay', at: 'pair-success', ms: 80 });
    const client = await registered();
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
    const started = performance.now();
    const scan = h.post(`/md/phones/${PHONE}/scan`, { qr });
    client.answerPairSuccess(await client.next(isPairSuccess));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect((await scan).status).toBe(200);
  });

  it('closes at a login without an answer, and right after <success>', async () => {
    h = await harness();
    const linked = await linkByQr(h);
    await fault({ kind: 'closeSocket', at: 'login' });
    const silent = await h.connect({ keys: linked.client.keys });
    await silent.login(h.emulator.md.rootPublicKey, PHONE, linked.device);
    await silent.waitClosed();
    expect(silent.log).toEqual([]);
    await fault({ kind: 'closeSocket', at: 'success' });
    const cut = await h.connect({ keys: linked.client.keys });
    await cut.login(h.emulator.md.rootPublicKey, PHONE, linked.device);
    await cut.waitClosed();
    expect(cut.log.map((node) => node.tag)).toEqual(['success']);
  });

  it('delays the login answer and the offline marker after <success>', async () => {
    h = await harness();
    const linked = await linkByQr(h);
    await fault({
      rules: [
        { kind: 'delay', at: 'login', ms: 60 },
        { kind: 'delay', at: 'success', ms: 60 },
      ],
    });
    const client = await h.connect({ keys: linked.client.keys });
    const started = performance.now();
    await client.login(h.emulator.md.rootPublicKey, PHONE, linked.device);
    await client.nextTag('success');
    const successAt = performance.now();
    expect(successAt - started).toBeGreaterThanOrEqual(55);
    await client.nextTag('ib');
    expect(performance.now() - successAt).toBeGreaterThanOrEqual(55);
  });

  it.each([405, 401, 403, 406, 429, 500, 503])(
    'answers the next handshake <failure reason=%i>',
    async (reason) => {
      h = await harness();
      await fault({ kind: 'failure', reason, times: 2 });
      const registration = await registered();
      expect((await registration.nextTag('failure')).attrs.reason).toBe(String(reason));
      await registration.waitClosed();
      const linked = h.emulator.md.context.faults.list();
      expect(linked).toEqual([{ kind: 'failure', reason, times: 1 }]);
    },
  );

  it('refuses the next companion_hello with 429 rate-overlimit', async () => {
    h = await harness();
    await fault({ kind: 'companionHello', status: 429 });
    const client = await registered();
    client.acceptPairDevice(await client.nextTag('iq'));
    const refused = await client.companionHello(PHONE, 'ABCD1234');
    expect(md.requireChild(refused, 'error').attrs).toEqual({ code: '429', text: 'rate-overlimit' });
    expect((await client.companionHello(PHONE, 'ABCD1234')).attrs.type).toBe('result');
  });

  it('expires every live ref early', async () => {
    h = await harness();
    const client = await registered();
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
    await fault({ kind: 'expireRefs' });
    expect((await h.post(`/md/phones/${PHONE}/scan`, { qr })).status).toBe(410);
  });

  it('corrupts the next transport frame: the client cannot open it, and the stream is out of step', async () => {
    h = await harness();
    const { client } = await activeDevice(h);
    await fault({ kind: 'corruptFrame' });
    client.send(
      md.mdNode('iq', { id: 'p1', to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, [md.mdNode('ping')]),
    );
    await expect(client.next((node) => node.attrs.id === 'p1', 300)).rejects.toThrow(/timed out/);
    expect(client.bad).toHaveLength(1);
  });

  it('closes every MD socket at once with closeSocket now', async () => {
    h = await harness();
    const a = await registered();
    const b = await registered();
    await fault({ kind: 'closeSocket', at: 'now' });
    await Promise.all([a.waitClosed(), b.waitClosed()]);
  });

  it('lists, clears and validates rules', async () => {
    h = await harness();
    await fault({
      rules: [
        { kind: 'corruptFrame', times: 3 },
        { kind: 'closeSocket', at: 'login' },
      ],
    });
    expect((await h.get('/md/faults')).json.rules).toEqual([
      { kind: 'corruptFrame', times: 3 },
      { kind: 'closeSocket', at: 'login', times: 1 },
    ]);
    const cleared = await fetch(`${h.emulator.url}/md/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ rules: [] });
    for (const bad of [
      { kind: 'nope' },
      { kind: 'closeSocket', at: 'somewhere' },
      { kind: 'delay', at: 'login', ms: -1 },
      { kind: 'failure', reason: 402 },
      { kind: 'streamError', code: 515 },
      { kind: 'iqError', xmlns: 'usync', code: 500 },
      { kind: 'iqError', xmlns: 'encrypt', code: 200 },
      { kind: 'companionHello', status: 200 },
      { kind: 'corruptFrame', times: 0 },
    ]) {
      expect((await h.post('/md/faults', bad)).status).toBe(400);
    }
  });
});

describe('the stream and the certificate', () => {
  it('streamError sends every socket past its handshake <stream:error code> and closes it', async () => {
    h = await harness();
    const client = await registered();
    await client.nextTag('iq');
    await fault({ kind: 'streamError', code: 503 });
    expect((await client.nextTag('stream:error')).attrs.code).toBe('503');
    await client.waitClosed();
    expect(h.emulator.md.context.faults.list()).toEqual([]);
  });

  it('badCertificate flips a byte of the next chain: the handshake fails, the next one does not', async () => {
    h = await harness();
    await fault({ kind: 'badCertificate' });
    const refused = await h.connect();
    await expect(refused.register(h.emulator.md.rootPublicKey)).rejects.toBeInstanceOf(md.CertChainError);
    expect(h.emulator.md.context.faults.list()).toEqual([]);
    const client = await registered();
    expect((await client.nextTag('iq')).attrs.type).toBe('set');
  });
});

describe('pair-device', () => {
  it('badRefs sends refs with a comma once; the next registration gets usable ones', async () => {
    h = await harness();
    await fault({ kind: 'badRefs' });
    const first = await registered();
    const refs = md.findChildren(md.requireChild(await first.nextTag('iq'), 'pair-device'), 'ref');
    expect(refs).toHaveLength(6);
    for (const ref of refs) expect(Buffer.from(md.contentBytes(ref)).toString()).toContain(',');
    const next = await registered();
    const good = md.findChildren(md.requireChild(await next.nextTag('iq'), 'pair-device'), 'ref');
    for (const ref of good) expect(Buffer.from(md.contentBytes(ref)).toString()).not.toContain(',');
  });
});

describe('the login IQs', () => {
  it('iqError answers the next IQ of that namespace and type with <error code>, then normally', async () => {
    h = await harness();
    const linked = await linkByQr(h);
    const { client } = await login(h, linked.client.keys, linked.device);
    await fault({ kind: 'iqError', xmlns: 'encrypt', type: 'get', code: 500 });
    const refused = await client.iq('encrypt', 'get', [md.mdNode('count')]);
    expect(md.requireChild(refused, 'error').attrs.code).toBe('500');
    const counted = await client.iq('encrypt', 'get', [md.mdNode('count')]);
    expect(counted.attrs.type).toBe('result');
    expect(h.emulator.md.context.faults.list()).toEqual([]);
  });
});

describe('a logout', () => {
  it('closes the socket instead of answering remove-companion-device; the device stays linked', async () => {
    h = await harness();
    const { client, device } = await activeDevice(h);
    await fault({ kind: 'closeSocket', at: 'logout' });
    client.send(
      md.mdNode('iq', { id: client.newId(), xmlns: 'md', type: 'set', to: 's.whatsapp.net' }, [
        md.mdNode('remove-companion-device', {
          jid: `${PHONE}:${device}@s.whatsapp.net`,
          reason: 'user_initiated',
        }),
      ]),
    );
    await client.waitClosed();
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toHaveLength(1);
    expect(h.emulator.md.context.faults.list()).toEqual([]);
    const again = await login(h, client.keys, device);
    const answer = await again.client.iq('md', 'set', [
      md.mdNode('remove-companion-device', {
        jid: `${PHONE}:${device}@s.whatsapp.net`,
        reason: 'user_initiated',
      }),
    ]);
    expect(answer.attrs.type).toBe('result');
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toEqual([]);
  });
});

describe('logging in again after a fault', () => {
  it('logs in normally once the rules are spent', async () => {
    h = await harness();
    const linked = await linkByQr(h);
    await fault({ kind: 'failure', reason: 403 });
    const refused = await h.connect({ keys: linked.client.keys });
    await refused.login(h.emulator.md.rootPublicKey, PHONE, linked.device);
    expect((await refused.nextTag('failure')).attrs.reason).toBe('403');
    const session = await login(h, linked.client.keys, linked.device);
    expect(session.success.attrs.lid).toMatch(/@lid$/);
  });
});
