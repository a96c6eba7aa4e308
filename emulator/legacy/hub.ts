// What all sockets of one emulator share: the world, refs, which socket holds which browser,
// messages waiting for a browser to come back, faults and counters.
import type { Logger } from 'pino';
import { parseQrText, userJid, type WebMessageInfo } from '../../codec/index.ts';
import { randomBytes, toBase64 } from '../../crypto/index.ts';
import { HttpError } from '../http-util.ts';
import { MediaStore } from '../media-store.ts';
import type { Connection } from './connection.ts';
import { FaultBook } from './faults.ts';
import type { Browser, Phone, World } from './world.ts';

interface RefEntry {
  connection: Connection;
  expiresAt: number;
  retired: boolean;
}

export interface EmulatorStats {
  connections: number;
  framesReceived: number;
  droppedFrames: number;
  pairings: number;
  logins: number;
}

/** Undelivered pushes per browser are bounded: a browser that never returns must not grow memory. */
const MAX_PENDING = 1000;

export class Hub {
  readonly faults = new FaultBook();
  readonly media = new MediaStore();
  readonly stats: EmulatorStats = {
    connections: 0,
    framesReceived: 0,
    droppedFrames: 0,
    pairings: 0,
    logins: 0,
  };
  baseUrl = '';
  private readonly refs = new Map<string, RefEntry>();
  private readonly holders = new Map<string, Connection>();
  private readonly pending = new Map<string, WebMessageInfo[]>();
  readonly connections = new Set<Connection>();

  constructor(
    readonly world: World,
    readonly refTtlMs: number,
    readonly now: () => number,
    readonly log: Logger,
  ) {}

  issueRef(connection: Connection): { value: string; expiresAt: number } {
    const value = `1@${toBase64(randomBytes(48))}`;
    const expiresAt = this.now() + this.refTtlMs;
    this.refs.set(value, { connection, expiresAt, retired: false });
    return { value, expiresAt };
  }

  retireRef(value: string): void {
    const entry = this.refs.get(value);
    if (entry) entry.retired = true;
  }

  retireOwnRef(connection: Connection): void {
    if (connection.ref) this.retireRef(connection.ref.value);
  }

  authenticatedSocket(clientId: string): Connection | undefined {
    const holder = this.holders.get(clientId);
    return holder?.isOpen ? holder : undefined;
  }

  /** `connection` now holds `browser`; another socket holding it is told it was replaced and closed. */
  takeOver(connection: Connection, browser: Browser): void {
    const other = this.authenticatedSocket(browser.clientId);
    if (other && other !== connection) other.kick('replaced');
    connection.browser = browser;
    connection.clientId = browser.clientId;
    this.holders.set(browser.clientId, connection);
  }

  forgetConnection(connection: Connection): void {
    this.connections.delete(connection);
    for (const [value, entry] of this.refs) if (entry.connection === connection) this.refs.delete(value);
    if (connection.clientId && this.holders.get(connection.clientId) === connection)
      this.holders.delete(connection.clientId);
  }

  /** The phone `number` scans `qr` (phone API). */
  async scan(number: string, qr: unknown): Promise<{ wid: string; result: string }> {
    if (typeof qr !== 'string') throw new HttpError(400, 'body needs "qr": the QR text');
    let parsed: ReturnType<typeof parseQrText>;
    try {
      parsed = parseQrText(qr);
    } catch (error) {
      throw new HttpError(400, `malformed QR text: ${(error as Error).message}`);
    }
    const entry = this.refs.get(parsed.ref);
    if (!entry) throw new HttpError(404, 'unknown ref');
    if (entry.retired || entry.expiresAt <= this.now()) throw new HttpError(410, 'the ref has expired');
    const connection = entry.connection;
    if (connection.clientId !== parsed.clientId)
      throw new HttpError(400, 'the clientId does not belong to this ref');
    if (connection.state !== 'refIssued') throw new HttpError(410, 'this ref was already used');
    entry.retired = true;
    const phone = this.world.phone(number);
    const result = await connection.enqueue(() => connection.pair(phone, parsed.publicKey));
    if (result === 'paired') this.stats.pairings += 1;
    return { wid: phone.wid, result: result ?? 'closed' };
  }

  /** Relays a message from the phone to every browser linked to it; absent ones get it on return. */
  relayToBrowsers(phone: Phone, info: WebMessageInfo): number {
    let delivered = 0;
    for (const browser of this.world.browsersOf(phone.number)) {
      const socket = this.authenticatedSocket(browser.clientId);
      if (socket?.state === 'authenticated') {
        socket.pushMessage(info);
        delivered += 1;
      } else {
        const queue = this.pending.get(browser.clientId) ?? [];
        if (queue.length < MAX_PENDING) queue.push(info);
        this.pending.set(browser.clientId, queue);
      }
    }
    return delivered;
  }

  deliverPending(connection: Connection): void {
    if (!connection.clientId) return;
    const queue = this.pending.get(connection.clientId);
    if (!queue) return;
    this.pending.delete(connection.clientId);
    for (const info of queue) connection.pushMessage(info);
  }

  /** Fault injection: every open socket is closed now (as a network drop would). */
  dropAll(): number {
    const open = [...this.connections];
    for (const connection of open) connection.close('fault: closeSocket now', 1001);
    return open.length;
  }

  /** Fault injection: a text frame that is no frame at all, to every open socket. */
  sendGarbage(): number {
    for (const connection of this.connections) connection.sendRaw('\u0000garbage without a tag');
    return this.connections.size;
  }

  /** docs/protocol.md §3: the phone delivered or read a message a browser sent: `["Msg",{"cmd":"ack",…}]`. */
  receipt(phone: Phone, id: string, ack: number): number {
    let notified = 0;
    const to = phone.sent.find((m) => m.id === id)?.to ?? '';
    for (const browser of this.world.browsersOf(phone.number)) {
      const socket = this.authenticatedSocket(browser.clientId);
      if (!socket) continue;
      socket.pushJson([
        'Msg',
        {
          cmd: 'ack',
          id,
          ack,
          from: userJid(phone.number),
          to,
          t: Math.floor(this.now() / 1000),
        },
      ]);
      notified += 1;
    }
    return notified;
  }

  /** The phone goes to sleep or wakes up: its logged-in browsers hear a Stream push. */
  phoneSleeps(phone: Phone, asleep: boolean): void {
    for (const browser of this.world.browsersOf(phone.number)) {
      this.authenticatedSocket(browser.clientId)?.pushJson(['Stream', asleep ? 'asleep' : 'update']);
    }
  }

  /** The phone unlinks all its browsers: open sockets hear `["Cmd",{"type":"disconnect"}]`. */
  unlink(phone: Phone): number {
    const browsers = this.world.browsersOf(phone.number);
    for (const browser of browsers) {
      this.authenticatedSocket(browser.clientId)?.kick(null);
      this.pending.delete(browser.clientId);
      this.world.forget(browser.clientId);
    }
    return browsers.length;
  }
}
