// A child process for the kill test: saves ever-newer credentials to one file until it is killed.
import { FileCredentialStore } from '../../actors/index.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: credential-writer <file>');
const store = new FileCredentialStore(path);
for (let n = 0; ; n++) {
  await store.save({
    clientId: 'AAAAAAAAAAAAAAAAAAAAAA==',
    clientToken: `client-${n}`,
    serverToken: `1@server-${n}`,
    browserToken: `1@browser-${n}`,
    encKey: new Uint8Array(32).fill(n % 256),
    macKey: new Uint8Array(32).fill((n + 1) % 256),
    wid: '491511112222@c.us',
  });
  if (n === 0) process.stdout.write('saving\n');
}
