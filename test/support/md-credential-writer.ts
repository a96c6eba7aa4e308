// A child process for the MD kill tests: opens an MD credential record (a file, or a Redis key sealed under
// WALINK_CREDENTIALS_KEY) and updates it in a loop until it is killed. Round k is what pair-success, the
// LID at login, a pre-key upload, a message and an app-state key share write: every field it changes
// carries k, and the round is one batch, so a record read back must show one k throughout
// (test/actors/md/md-credential-kill.test.ts reads them).
//   md-credential-writer file <path>
//   md-credential-writer redis <url> <session name>
import { Redis } from 'ioredis';
import {
  type CredentialStore,
  credentialsKeyFromEnv,
  FileCredentialStore,
  md,
  RedisCredentialStore,
} from '../../actors/index.ts';

const [mode, where, name] = process.argv.slice(2);
let store: CredentialStore<md.MdCredentialRecord>;
let redis: Redis | undefined;
if (mode === 'file' && where) {
  store = new FileCredentialStore(where, md.MD_CREDENTIAL_CODEC);
} else if (mode === 'redis' && where && name) {
  redis = new Redis(where, { maxRetriesPerRequest: 1 });
  store = new RedisCredentialStore(redis, name, credentialsKeyFromEnv(), { codec: md.MD_CREDENTIAL_CODEC });
} else {
  throw new Error('usage: md-credential-writer file <path> | redis <url> <name>');
}

const device = await md.MdDeviceStore.open(store);
// Pairing-sized state: 30 pre-keys and a few sessions, so a save takes long enough to be cut.
await device.signal.preKeysForUpload(1, 30);
for (let i = 0; i < 8; i++)
  await device.signal.storeSession(`1555000000${i}.0`, JSON.stringify({ pad: 'x'.repeat(2000) }));
process.stdout.write('saving\n');
for (let k = 1; ; k++) {
  const m = k % 250;
  await device.batch(async () => {
    const c = device.credentials;
    await device.saveCredentials({
      ...c,
      me: { jid: `${m}:3@s.whatsapp.net`, lid: `${m}:3@lid` },
      account: new Uint8Array(64).fill(m),
      nextPreKeyId: m + 1,
      firstUnuploadedPreKeyId: m + 1,
    });
    await device.signal.preKeysForUpload(31 + (k % 5), 1);
    await device.signal.storeSession('15557654321.0', JSON.stringify({ k: m }));
    await device.appState.put([
      { keyId: new Uint8Array([1]), keyData: new Uint8Array(32).fill(m), timestamp: m },
    ]);
  });
}
