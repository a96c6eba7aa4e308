// A child process for the MD session kill test: one MD session against an emulator, its credentials in a
// file, printing each state and QR code as a JSON line until it is killed.
//   md-session-writer <ws url> <root public key hex> <credential file>
import { createSession, FileCredentialStore, MD_CREDENTIAL_CODEC } from '../../actors/index.ts';
import { fromHex } from '../../crypto/index.ts';

const [url, root, path] = process.argv.slice(2);
if (!url || !root || !path) throw new Error('usage: md-session-writer <url> <root hex> <file>');
const session = await createSession({
  protocol: 'md',
  url,
  rootPublicKey: fromHex(root),
  store: new FileCredentialStore(path, MD_CREDENTIAL_CODEC),
});
session.events$.subscribe((event) => {
  if (event.type === 'state') process.stdout.write(`${JSON.stringify({ state: event.state })}\n`);
  if (event.type === 'qr') process.stdout.write(`${JSON.stringify({ qr: event.text })}\n`);
});
session.start();
