// A session from the library: an emulator on a free port, a session with a file credential store, the
// emulator's phone scanning the QR code, one message each way, then logout.
// Run it: node bin/run-ts.js examples/session.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSession,
  FileCredentialStore,
  InProcessMediaQueue,
  MediaHostPolicy,
  startEmulator,
} from '../index.ts';

const emulator = await startEmulator({ port: 0 });
const home = mkdtempSync(join(tmpdir(), 'walink-example-'));
const session = await createSession({
  url: emulator.wsUrl,
  store: new FileCredentialStore(join(home, 'session.json')),
  // Media comes only from allowed hosts: the WhatsApp media hosts, and here the emulator's CDN.
  queue: new InProcessMediaQueue({
    mediaDir: join(home, 'media'),
    mediaHosts: MediaHostPolicy.default().with([emulator.url]),
  }),
});

session.state$.subscribe((state) => console.log('state', state.name));
session.events$.subscribe(async (event) => {
  if (event.type === 'qr') {
    // A person would scan event.text with their phone; the emulator's phone API does it here.
    await fetch(`${emulator.url}/phones/491511112222/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qr: event.text }),
    });
  }
  if (event.type === 'message') console.log('message', event.message.sender, event.message.text);
  if (event.type === 'message.ack') console.log('acknowledged', event.id, event.status);
});
session.start(); // before or after subscribing: state$ replays the state, events$ the QR code that is up

await session.waitFor((state) => state.tags.includes('ready'));
await fetch(`${emulator.url}/phones/491511112222/messages`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ from: '491700000001@c.us', text: 'hello from the phone' }),
});
session.send('491700000001@c.us', 'hello from walink');
await new Promise((resolve) => setTimeout(resolve, 300));

session.logout();
await session.waitFor((state) => state.name === 'loggedOut');
await session.stop();
await emulator.close();
