// The emulator's shared world: phones (accounts), the browsers linked to them with their keys and
// rotating tokens, and the refs that name sockets waiting for a scan. Optionally persisted to a file
// (atomically, mode 0600: it holds session keys) so a restarted emulator still knows its browsers.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { fromBase64, randomBytes, type SessionKeys, toBase64 } from '../../crypto/index.ts';
import { HttpError } from '../../http/index.ts';

export interface Phone {
  number: string;
  wid: string;
  pushname: string;
  platform: 'android' | 'iphone';
  multiDevice: boolean;
  tosBlocked: boolean;
  /** What linked browsers relayed through this phone. */
  sent: SentMessage[];
}

export interface SentMessage {
  id: string;
  to: string;
  text: string | null;
  type: string;
  t: number;
  clientId: string;
}

export interface Tokens {
  clientToken: string;
  serverToken: string;
  browserToken: string;
}

export interface Browser {
  clientId: string;
  phoneNumber: string;
  description: string[];
  keys: SessionKeys;
  tokens: Tokens;
  /**
   * The pair a client last logged in with, when it is not the current one: a login with it is stale and
   * gets a challenge. A rotation replaces it only once the current pair was used (the client saved it).
   */
  previousTokens: Tokens | null;
  linkedAt: number;
}

export function newTokens(): Tokens {
  return {
    clientToken: toBase64(randomBytes(32)),
    serverToken: `1@${toBase64(randomBytes(60))}`,
    browserToken: `1@${toBase64(randomBytes(60))}`,
  };
}

interface StoredWorld {
  version: 1;
  phones: Omit<Phone, 'sent'>[];
  browsers: (Omit<Browser, 'keys'> & { encKey: string; macKey: string })[];
  /** Other sections (the `md` one of emulator/md), kept as they are. */
  [section: string]: unknown;
}

const LEGACY_KEYS = new Set(['version', 'phones', 'browsers']);

/** What the world keeps at most (docs/emulator.md, "Timing and limits"). */
export interface WorldLimits {
  /** Phones kept; past it the oldest phone without a linked browser is forgotten (10000). */
  maxPhones: number;
  /** Messages kept per phone in `sent` (the oldest go first; 1000). */
  maxSentPerPhone: number;
}

export const DEFAULT_WORLD_LIMITS: WorldLimits = { maxPhones: 10_000, maxSentPerPhone: 1000 };

/** Thrown when the state file cannot be kept where it was asked for. */
export class StateFileError extends Error {
  readonly code = 'STATE_FILE';
}

export class World {
  readonly phones = new Map<string, Phone>();
  readonly browsers = new Map<string, Browser>();
  // ---- md hook: other parts of the emulator keep their own section of the same state file ----
  private readonly loadedSections = new Map<string, unknown>();
  private readonly sectionSnapshots = new Map<string, () => unknown>();

  constructor(
    private readonly stateFile?: string,
    private readonly limits: WorldLimits = DEFAULT_WORLD_LIMITS,
  ) {
    if (!stateFile) return;
    this.load(stateFile);
    // A folder that does not exist yet is made; one that cannot be made or written is said at start,
    // not found out at the first phone call.
    if (!existsSync(stateFile)) {
      try {
        mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
        this.save();
      } catch (error) {
        throw new StateFileError(
          `cannot keep the emulator state in ${stateFile}: ${(error as Error).message}`,
        );
      }
    }
  }

  /** A section of the state file beside the legacy one: what it held, how to write it, and save(). */
  section(name: string): { saved: unknown; attach(snapshot: () => unknown): void; save(): void } {
    if (LEGACY_KEYS.has(name)) throw new Error(`${name} is the legacy part of the state file`);
    return {
      saved: this.loadedSections.get(name),
      attach: (snapshot) => this.sectionSnapshots.set(name, snapshot),
      save: () => this.save(),
    };
  }
  // ---- end md hook ----

  /** The phone `number`, made on first use (and saved). */
  phone(number: string): Phone {
    let phone = this.phones.get(number);
    if (!phone) {
      this.makeRoomForPhone();
      phone = freshPhone(number);
      this.phones.set(number, phone);
      this.save();
    }
    return phone;
  }

  /** The phone `number` as it is, or as it would be made: looking does not make it (GET). */
  peekPhone(number: string): Readonly<Phone> {
    return this.phones.get(number) ?? freshPhone(number);
  }

  /** Records what a linked browser relayed; the oldest go past `maxSentPerPhone`. */
  recordSent(number: string, message: SentMessage): void {
    const sent = this.phone(number).sent;
    sent.push(message);
    if (sent.length > this.limits.maxSentPerPhone) sent.splice(0, sent.length - this.limits.maxSentPerPhone);
  }

  /** Past `maxPhones`, the oldest phone no browser is linked to is forgotten; when every one has one, 503. */
  private makeRoomForPhone(): void {
    if (this.phones.size < this.limits.maxPhones) return;
    const linked = new Set([...this.browsers.values()].map((b) => b.phoneNumber));
    for (const number of this.phones.keys()) {
      if (linked.has(number)) continue;
      this.phones.delete(number);
      return;
    }
    throw new HttpError(503, `the emulator keeps at most ${this.limits.maxPhones} phones`);
  }

  browsersOf(number: string): Browser[] {
    return [...this.browsers.values()].filter((b) => b.phoneNumber === number);
  }

  link(browser: Browser): void {
    this.browsers.set(browser.clientId, browser);
    this.save();
  }

  forget(clientId: string): void {
    if (this.browsers.delete(clientId)) this.save();
  }

  /**
   * A login passed: new tokens. `presentedPrevious`: the login used the previous pair, so the current one
   * never reached the client's store, and the previous pair stays the one it holds. Lost saves in a row
   * then still leave the client a pair the server knows (docs/protocol.md §2.5).
   */
  rotateTokens(browser: Browser, presentedPrevious = false): Tokens {
    if (!presentedPrevious || !browser.previousTokens) browser.previousTokens = browser.tokens;
    browser.tokens = newTokens();
    this.save();
    return browser.tokens;
  }

  save(): void {
    if (!this.stateFile) return;
    const stored: StoredWorld = {
      version: 1,
      phones: [...this.phones.values()].map(({ sent: _sent, ...phone }) => phone),
      browsers: [...this.browsers.values()].map(({ keys, ...browser }) => ({
        ...browser,
        encKey: toBase64(keys.encKey),
        macKey: toBase64(keys.macKey),
      })),
    };
    // md hook: a section not attached this run is written back as it was read.
    for (const [name, saved] of this.loadedSections) stored[name] = saved;
    for (const [name, snapshot] of this.sectionSnapshots) stored[name] = snapshot();
    writeFileAtomic(this.stateFile, JSON.stringify(stored));
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StateFileError(`cannot read the emulator state in ${file}: ${(error as Error).message}`);
    }
    const stored = JSON.parse(text) as StoredWorld;
    if (stored.version !== 1)
      throw new Error(`emulator state file ${file} has unknown version ${stored.version}`);
    for (const [name, saved] of Object.entries(stored)) {
      if (!LEGACY_KEYS.has(name)) this.loadedSections.set(name, saved); // md hook
    }
    for (const phone of stored.phones) this.phones.set(phone.number, { ...phone, sent: [] });
    for (const { encKey, macKey, ...browser } of stored.browsers) {
      this.browsers.set(browser.clientId, {
        ...browser,
        keys: { encKey: fromBase64(encKey), macKey: fromBase64(macKey) },
      });
    }
  }
}

function freshPhone(number: string): Phone {
  return {
    number,
    wid: `${number}@c.us`,
    pushname: `Phone ${number.slice(-4)}`,
    platform: 'android',
    multiDevice: false,
    tosBlocked: false,
    sent: [],
  };
}

/** Write to a temporary file, fsync, rename: a reader sees the old file or the new one, never a torn one. */
export function writeFileAtomic(file: string, text: string): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}
