// MD JIDs as text (docs/protocol-md.md, "JIDs"): `user[.agent][:device]@server`, `@server` for a server
// itself (the JID_PAIR with an empty user, e.g. `@s.whatsapp.net`), `user:device@msgr` and
// `integrator-user:device@interop`. Parsing is strict: every malformed JID is a CodecError BAD_JID, and
// formatMdJid(parseMdJid(text)) gives back `text` exactly (an explicit `:0` stays).
import { CodecError } from '../errors.ts';

export const MD_SERVERS = [
  's.whatsapp.net',
  'lid',
  'g.us',
  'broadcast',
  'newsletter',
  'hosted',
  'hosted.lid',
  'msgr',
  'interop',
  'c.us',
] as const;

export type MdServer = (typeof MD_SERVERS)[number];

export interface MdJid {
  /** '' for a server JID such as `@s.whatsapp.net`. */
  user: string;
  server: MdServer;
  /** Present when the text names a device (`:0` included); deviceOf() reads an absent device as 0. */
  device?: number;
  /** `user.agent:device@s.whatsapp.net`: an AD_JID domain type that names no server. */
  agent?: number;
  /** Interop JIDs only: `integrator-user:device@interop`. */
  integrator?: number;
}

/** The server JID of phone-number users. */
export const S_WHATSAPP_NET = '@s.whatsapp.net';

const SERVERS: ReadonlySet<string> = new Set(MD_SERVERS);
/** Servers whose JIDs may carry a device, and the largest device each form can hold on the wire. */
const MAX_DEVICE: Partial<Record<MdServer, number>> = {
  's.whatsapp.net': 255,
  lid: 255,
  hosted: 255,
  'hosted.lid': 255,
  'c.us': 255,
  msgr: 65535,
  interop: 65535,
};
const AGENT_SERVERS: ReadonlySet<string> = new Set(['s.whatsapp.net', 'c.us']);
const USER = /^[A-Za-z0-9_-]+$/;
const NUMBER = /^(?:0|[1-9]\d{0,4})$/;
// user, then optional .agent, then optional :device
const USER_PART = /^([^.:]*)(?:\.([^.:]*))?(?::([^.:]*))?$/;
const INTEROP_USER = /^(0|[1-9]\d{0,4})-(.+)$/;

function bad(text: string, why: string): never {
  throw new CodecError('BAD_JID', `malformed JID "${text.slice(0, 80)}": ${why}`);
}

function number(text: string, value: string, what: string, max: number): number {
  if (!NUMBER.test(value) || Number(value) > max) bad(text, `${what} must be a decimal 0..${max}`);
  return Number(value);
}

export function parseMdJid(text: string): MdJid {
  if (typeof text !== 'string') throw new CodecError('BAD_JID', 'a JID is a string');
  const at = text.indexOf('@');
  if (at < 0) bad(text, 'no @');
  const server = text.slice(at + 1);
  if (!SERVERS.has(server)) bad(text, `unknown server "${server.slice(0, 40)}"`);
  const jid: MdJid = { user: '', server: server as MdServer };
  if (at === 0) return jid;
  const parts = USER_PART.exec(text.slice(0, at));
  if (!parts) bad(text, 'more than one "." or ":" before the @');
  const [, userText, agentText, deviceText] = parts;
  let user = userText!;
  if (jid.server === 'interop') {
    const interop = INTEROP_USER.exec(user);
    if (!interop) bad(text, 'an interop user is integrator-user');
    jid.integrator = number(text, interop[1]!, 'the integrator', 65535);
    user = interop[2]!;
  }
  if (!USER.test(user)) bad(text, 'the user must be letters, digits, "_" or "-"');
  jid.user = user;
  if (agentText !== undefined) {
    if (!AGENT_SERVERS.has(jid.server)) bad(text, `@${jid.server} JIDs have no agent`);
    jid.agent = number(text, agentText, 'the agent', 255);
  }
  if (deviceText !== undefined) {
    const max = MAX_DEVICE[jid.server];
    if (max === undefined) bad(text, `@${jid.server} JIDs have no device`);
    jid.device = number(text, deviceText, 'the device', max);
  }
  return jid;
}

export function tryParseMdJid(text: string): MdJid | undefined {
  try {
    return parseMdJid(text);
  } catch {
    return undefined;
  }
}

/** The text form of a JID; its parts are checked as parseMdJid checks them (CodecError BAD_JID). */
export function formatMdJid(jid: MdJid): string {
  let text = jid.user;
  if (jid.integrator !== undefined) text = `${jid.integrator}-${text}`;
  if (jid.agent !== undefined) text += `.${jid.agent}`;
  if (jid.device !== undefined) text += `:${jid.device}`;
  text += `@${jid.server}`;
  const parsed = parseMdJid(text);
  if (
    parsed.user !== jid.user ||
    parsed.integrator !== jid.integrator ||
    (jid.server === 'interop') !== (jid.integrator !== undefined)
  ) {
    bad(text, 'the parts do not form a JID');
  }
  return text;
}

function asJid(jid: string | MdJid): MdJid {
  return typeof jid === 'string' ? parseMdJid(jid) : jid;
}

/** The JID without agent and device: `15551234567:3@s.whatsapp.net` → `15551234567@s.whatsapp.net`. */
export function toUserJid(jid: string | MdJid): string {
  const { user, server, integrator } = asJid(jid);
  return formatMdJid(integrator === undefined ? { user, server } : { user, server, integrator });
}

/** Same user on the same server, whatever the devices (a PN and a LID of one person are different users). */
export function isSameUser(a: string | MdJid, b: string | MdJid): boolean {
  const left = asJid(a);
  const right = asJid(b);
  return left.user === right.user && left.server === right.server && left.integrator === right.integrator;
}

/** The device number; 0 (the primary) when the JID names none. */
export function deviceOf(jid: string | MdJid): number {
  return asJid(jid).device ?? 0;
}

/** Whether the JID is a server itself (`@s.whatsapp.net`, `@g.us`, …). */
export function isServerJid(jid: string | MdJid): boolean {
  return asJid(jid).user === '';
}
