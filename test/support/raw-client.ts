// A raw protocol client for conformance tests: a `ws` socket, a queue of parsed server frames and
// the test-side crypto. Deliberately not walink's session code: it speaks docs/protocol.md by hand.
import WebSocket from 'ws';
import {
  type BinaryNode,
  buildQrText,
  clientBinaryFrame,
  decodeNode,
  encodeNode,
  jsonFrame,
  parseServerFrame,
  type ServerFrame,
} from '../../codec/index.ts';
import {
  deriveSessionKeys,
  fromBase64,
  openFrame,
  randomBytes,
  type SessionKeys,
  sealFrame,
  toBase64,
  x25519KeyPair,
} from '../../crypto/index.ts';

export const ORIGIN = 'https://web.whatsapp.com';

export class RawClient {
  readonly frames: ServerFrame[] = [];
  /** Every frame in arrival order (frames is consumed by next(); this is not). */
  readonly log: ServerFrame[] = [];
  readonly garbage: string[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly clientId = toBase64(randomBytes(16));
  readonly keyPair = x25519KeyPair();
  keys: SessionKeys | null = null;
  private counter = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      let frame: ServerFrame;
      try {
        frame = parseServerFrame(new Uint8Array(data as Buffer), isBinary);
      } catch {
        // Not a frame at all (the sendGarbage fault): kept apart for the test to look at.
        this.garbage.push(Buffer.from(data as Buffer).toString('utf8'));
        this.wake();
        return;
      }
      this.frames.push(frame);
      this.log.push(frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  static async connect(wsUrl: string, origin = ORIGIN): Promise<RawClient> {
    const ws = new WebSocket(wsUrl, { origin });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawClient(ws);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  tag(): string {
    return `${Math.floor(Date.now() / 1000)}.--${this.counter++}`;
  }

  send(tag: string, data: unknown, doubleComma = false): string {
    this.ws.send(jsonFrame(tag, data, { doubleComma }));
    return tag;
  }

  sendNode(tag: string, node: BinaryNode, metric = 0, flag = 0x80, keys = this.keys): void {
    if (!keys) throw new Error('no keys yet');
    this.ws.send(clientBinaryFrame(tag, metric, flag, sealFrame(keys, encodeNode(node))));
  }

  /** Removes and returns the first frame matching `match`, waiting up to `timeoutMs`. */
  async next(
    match: (frame: ServerFrame) => boolean,
    timeoutMs = 10_000,
    what = 'frame',
  ): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (this.closed)
        throw new Error(
          `socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; have ${JSON.stringify(this.frames.map((f) => (f.kind === 'binary' ? { ...f, payload: f.payload.length } : f)))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The JSON answer to `tag`. */
  async answer(tag: string, timeoutMs?: number): Promise<unknown> {
    const frame = await this.next((f) => f.kind === 'json' && f.tag === tag, timeoutMs, `answer to ${tag}`);
    return (frame as { data: unknown }).data;
  }

  /** The next server-initiated JSON push whose array starts with `kind` (Conn, Cmd, Stream, Props…). */
  async push(kind: string, timeoutMs?: number): Promise<{ tag: string; data: unknown[] }> {
    const frame = await this.next(
      (f) => f.kind === 'json' && /^s\d+$/.test(f.tag) && Array.isArray(f.data) && f.data[0] === kind,
      timeoutMs,
      `${kind} push`,
    );
    return frame as { tag: string; data: unknown[] };
  }

  /** The next binary frame (optionally with `tag`), opened and decoded with this client's keys. */
  /** The binary frame tagged `tag`; without one, the next that is not an unasked `preempt-…` list. */
  async binary(tag?: string, timeoutMs?: number): Promise<{ tag: string; node: BinaryNode }> {
    const frame = await this.next(
      (f) => f.kind === 'binary' && (tag === undefined ? !f.tag.startsWith('preempt-') : f.tag === tag),
      timeoutMs,
      `binary ${tag ?? ''}`,
    );
    const { payload } = frame as { tag: string; payload: Uint8Array };
    if (!this.keys) throw new Error('no keys');
    return { tag: (frame as { tag: string }).tag, node: decodeNode(openFrame(this.keys, payload)) };
  }

  /** The next binary frame the server pushed unasked with a `preempt-…` tag (the contact and chat lists). */
  async preempt(timeoutMs?: number): Promise<{ tag: string; node: BinaryNode }> {
    const frame = await this.next(
      (f) => f.kind === 'binary' && f.tag.startsWith('preempt-'),
      timeoutMs,
      'preempt',
    );
    const { tag, payload } = frame as { tag: string; payload: Uint8Array };
    if (!this.keys) throw new Error('no keys');
    return { tag, node: decodeNode(openFrame(this.keys, payload)) };
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  async init(version = [2, 2142, 12]): Promise<{ status: number; ref: string; ttl: number }> {
    return (await this.answer(this.sendInit(version))) as { status: number; ref: string; ttl: number };
  }

  /** Sends `admin init` without waiting for the answer; returns its tag. */
  sendInit(version = [2, 2142, 12]): string {
    return this.send(this.tag(), [
      'admin',
      'init',
      version,
      ['walink tests', 'Chrome', '10'],
      this.clientId,
      true,
    ]);
  }

  /** Sends `admin login` with the tokens of a Conn; returns its tag. */
  sendLogin(tokens: Record<string, unknown>, mode = 'takeover'): string {
    return this.send(this.tag(), [
      'admin',
      'login',
      tokens.clientToken,
      tokens.serverToken,
      this.clientId,
      mode,
    ]);
  }

  qrText(ref: string): string {
    return buildQrText({ ref, publicKey: this.keyPair.publicKey, clientId: this.clientId });
  }

  /** Takes keys from a Conn push that carries a secret (docs/protocol.md §2.4, client side). */
  acceptSecret(conn: Record<string, unknown>): SessionKeys {
    this.keys = deriveSessionKeys(this.keyPair.privateKey, fromBase64(conn.secret as string));
    return this.keys;
  }

  close(): void {
    this.ws.close();
  }
}

/** JSON answers are read field by field by the tests that expect them. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type JsonAnswer = any;

export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: JsonAnswer }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // CDN bodies and plain-text errors stay text.
  }
  return { status: response.status, body: parsed };
}
