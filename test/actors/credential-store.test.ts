// The file credential store: round trips, mode 0600, typed errors for corrupt files, ordered saves,
// and a writer killed with SIGKILL mid-update never leaves a torn file.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialError, FileCredentialStore, MemoryCredentialStore } from '../../actors/index.ts';
import { toBase64 } from '../../crypto/index.ts';
import type { Credentials } from '../../machines/index.ts';
import { entryArgs } from '../support/compiled.ts';

function credentials(n = 1): Credentials {
  return {
    clientId: 'AAAAAAAAAAAAAAAAAAAAAA==',
    clientToken: `client-${n}`,
    serverToken: `1@server-${n}`,
    browserToken: `1@browser-${n}`,
    encKey: new Uint8Array(32).fill(n),
    macKey: new Uint8Array(32).fill(n + 1),
    wid: '491511112222@c.us',
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'walink-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('FileCredentialStore', () => {
  it('round-trips credentials in a 0600 file inside a created directory', async () => {
    const store = new FileCredentialStore(join(dir, 'nested', 'session.json'));
    expect(await store.load()).toBeNull();
    await store.save(credentials(3));
    expect(await store.load()).toEqual(credentials(3));
    expect(statSync(store.location).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['session.json']);
  });

  it('keeps the previous tokens beside the current ones (version 2)', async () => {
    const store = new FileCredentialStore(join(dir, 's.json'));
    const previous = { clientToken: 'client-0', serverToken: '1@server-0', browserToken: '1@browser-0' };
    await store.save({ ...credentials(), previous });
    expect(await store.load()).toEqual({ ...credentials(), previous });
    expect(JSON.parse(readFileSync(store.location, 'utf8'))).toMatchObject({ version: 2, previous });
  });

  it('still reads a version 1 file (no previous tokens)', async () => {
    const path = join(dir, 's.json');
    const { encKey, macKey, ...rest } = credentials(4);
    const v1 = { version: 1, ...rest, encKey: toBase64(encKey), macKey: toBase64(macKey) };
    writeFileSync(path, JSON.stringify(v1));
    expect(await new FileCredentialStore(path).load()).toEqual(credentials(4));
  });

  it('previous tokens that are not three strings are CORRUPT', async () => {
    const store = new FileCredentialStore(join(dir, 's.json'));
    await store.save(credentials());
    const text = readFileSync(store.location, 'utf8').replace(
      '"version": 2,',
      '"version": 2, "previous": 5,',
    );
    writeFileSync(store.location, text);
    const error = await store.load().catch((e: unknown) => e);
    expect((error as CredentialError).code).toBe('CORRUPT');
  });

  it('applies saves in the order they were made', async () => {
    const store = new FileCredentialStore(join(dir, 's.json'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(credentials(i + 1))));
    expect((await store.load())?.clientToken).toBe('client-20');
  });

  it('clear removes the file and tolerates a missing one', async () => {
    const store = new FileCredentialStore(join(dir, 's.json'));
    await store.save(credentials());
    await store.clear();
    await store.clear();
    expect(await store.load()).toBeNull();
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['another format', '{"version":3}'],
    ['a version 2 file without its fields', '{"version":2}'],
    ['a missing token', JSON.stringify({ version: 1, clientId: 'x' })],
    [
      'short keys',
      JSON.stringify({
        ...JSON.parse(JSON.stringify({ version: 1 })),
        clientId: 'a',
        clientToken: 'b',
        serverToken: 'c',
        browserToken: 'd',
        encKey: 'AAAA',
        macKey: 'AAAA',
        wid: 'w',
      }),
    ],
  ])('a file with %s is a CredentialError CORRUPT', async (_, text) => {
    const path = join(dir, 's.json');
    writeFileSync(path, text);
    const error = await new FileCredentialStore(path).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).code).toBe('CORRUPT');
  });

  it('a writer killed mid-update leaves the old or the new file, never a torn one', async () => {
    const path = join(dir, 'session.json');
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [...entryArgs('test/support/credential-writer.ts'), path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 20 + round * 15));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const loaded = await new FileCredentialStore(path).load();
      const n = Number(loaded?.clientToken.slice('client-'.length));
      expect(Number.isInteger(n)).toBe(true);
      // Every field comes from the same save.
      expect(loaded).toEqual({
        ...credentials(0),
        clientToken: `client-${n}`,
        serverToken: `1@server-${n}`,
        browserToken: `1@browser-${n}`,
        encKey: new Uint8Array(32).fill(n % 256),
        macKey: new Uint8Array(32).fill((n + 1) % 256),
      });
      expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(2);
      // load() swept any temporary file the killed writer left behind.
      expect(readdirSync(dir)).toEqual(['session.json']);
    }
  }, 60_000);
});

describe('MemoryCredentialStore', () => {
  it('keeps a copy, not the caller’s object', async () => {
    const store = new MemoryCredentialStore();
    const c = credentials();
    await store.save(c);
    c.encKey.fill(0);
    expect((await store.load())?.encKey).toEqual(new Uint8Array(32).fill(1));
  });
});
