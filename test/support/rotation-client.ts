// A child process for the aimed-kill test (issue 12, Medium 6): a session that restores from a credential
// file and says `saving` on stdout when the server's rotated tokens are about to be written, then never
// writes them: the parent kills it there, between the server's rotation and the client's own save.
import { type CredentialStore, createSession, FileCredentialStore } from '../../actors/index.ts';
import type { Credentials } from '../../machines/index.ts';

const [url, path] = process.argv.slice(2);
if (!url || !path) throw new Error('usage: rotation-client <ws-url> <credential file>');
const file = new FileCredentialStore(path);
const store: CredentialStore = {
  location: file.location,
  load: () => file.load(),
  clear: () => file.clear(),
  save: (_credentials: Credentials) => {
    process.stdout.write('saving\n');
    return new Promise<void>(() => undefined);
  },
};
const session = await createSession({ url, store, timing: { backoffBase: 20, backoffMax: 200 } });
session.start();
