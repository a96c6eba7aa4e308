// Who may talk to `walink serve`. A request must name one of our hosts (DNS rebinding sends the
// attacker's), come from our own page or from no page at all (Origin and Sec-Fetch-Site: another site's
// form or fetch is refused), carry the API token (a bearer header, or the cookie the page holds), and
// send JSON when it changes anything (a cross-origin page can post text/plain, forms and multipart
// without asking first; JSON needs a CORS preflight we never grant).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { HttpError } from '../http/index.ts';

export interface AccessOptions {
  /** The API token; null serves without one (loopback only). */
  token: string | null;
  /** The address given to listen() (`127.0.0.1`, `::`, `0.0.0.0`, a name…). */
  listenHost: string;
  /** The port actually bound. */
  port: number;
  /** More Host header values to accept: `name` (any port) or `name:port`. */
  allowedHosts?: readonly string[];
}

export type AccessConfigErrorCode = 'WALINK_NO_AUTH_NOT_LOOPBACK' | 'WALINK_ALLOWED_HOST_INVALID';

export class AccessConfigError extends Error {
  override name = 'AccessConfigError';
  constructor(
    readonly code: AccessConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** `::1` → `[::1]`: how a host appears in a Host header or a URL. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A Host header split into its name (lowercase, IPv6 in brackets) and port ('' when absent). */
function parseHost(value: string): { name: string; port: string } | null {
  try {
    const url = new URL(`http://${value}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
    return { name: url.hostname.toLowerCase(), port: url.port };
  } catch {
    return null;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class AccessPolicy {
  /** Names accepted on our own port. */
  private readonly ownNames = new Set<string>();
  /** `--allowed-host` entries: a name on any port, or an exact `name:port`. */
  private readonly anyPortNames = new Set<string>();
  private readonly exactHosts = new Set<string>();
  private readonly tokenDigest: Buffer | null;
  readonly cookieName: string;

  constructor(private readonly options: AccessOptions) {
    if (options.token === null && !isLoopbackHost(options.listenHost)) {
      throw new AccessConfigError(
        'WALINK_NO_AUTH_NOT_LOOPBACK',
        `--no-auth is only for a loopback address, not ${options.listenHost}`,
      );
    }
    this.tokenDigest = options.token === null ? null : digest(options.token);
    // Cookies ignore ports: two services on one host need two names.
    this.cookieName = `walink_${options.port}`;
    for (const name of LOOPBACK_NAMES) this.ownNames.add(name);
    if (WILDCARDS.has(options.listenHost)) {
      for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? []) this.ownNames.add(urlHost(address.address).toLowerCase());
      }
    } else {
      this.ownNames.add(urlHost(options.listenHost).toLowerCase());
    }
    for (const entry of options.allowedHosts ?? []) {
      const parsed = parseHost(entry.trim());
      if (!parsed?.name) {
        throw new AccessConfigError(
          'WALINK_ALLOWED_HOST_INVALID',
          `--allowed-host ${entry} is not a host name`,
        );
      }
      if (parsed.port) this.exactHosts.add(`${parsed.name}:${parsed.port}`);
      else this.anyPortNames.add(parsed.name);
    }
  }

  get authRequired(): boolean {
    return this.tokenDigest !== null;
  }

  /** 421 unless the Host header names this service (a DNS-rebinding page sends its own name). */
  checkHost(req: IncomingMessage): void {
    const parsed = parseHost(req.headers.host ?? '');
    if (parsed) {
      const port = parsed.port || '80';
      if (this.anyPortNames.has(parsed.name)) return;
      if (this.exactHosts.has(`${parsed.name}:${port}`)) return;
      if (port === String(this.options.port) && this.ownNames.has(parsed.name)) return;
    }
    throw new HttpError(
      421,
      `Host ${JSON.stringify(req.headers.host ?? '')} is not this service's (start it with --allowed-host to accept it)`,
    );
  }

  /** 403 for a request made by another site's page; scripts (no Origin, no Sec-Fetch-Site) pass. */
  checkSite(req: IncomingMessage): void {
    const site = req.headers['sec-fetch-site'];
    // same-site is refused too: a page on another port of this host is "same site".
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new HttpError(403, `requests from other sites are refused (Sec-Fetch-Site: ${site})`);
    }
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const own = [`http://${req.headers.host}`, `https://${req.headers.host}`].map((o) => o.toLowerCase());
    if (!own.includes(origin.toLowerCase())) {
      throw new HttpError(403, `requests from other origins are refused (Origin: ${origin})`);
    }
  }

  /** The token a request carries, as a bearer header or our cookie. */
  private presented(req: IncomingMessage): string | null {
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === this.cookieName) return part.slice(at + 1).trim();
    }
    return null;
  }

  matches(candidate: string): boolean {
    return this.tokenDigest !== null && timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** 401 unless the request carries the token (or none is needed). */
  checkToken(req: IncomingMessage): void {
    if (this.tokenDigest === null) return;
    const presented = this.presented(req);
    if (presented === null || !this.matches(presented)) {
      throw new HttpError(
        401,
        'the API needs its token: Authorization: Bearer <token>, the token being in <home>/api-token',
      );
    }
  }

  /** 415 for a state-changing request whose body is not JSON (what a form or a no-cors fetch sends). */
  checkBody(req: IncomingMessage): void {
    const method = req.method ?? 'GET';
    if (SAFE_METHODS.has(method)) return;
    const type = req.headers['content-type'];
    const mediaType = type?.split(';')[0]?.trim().toLowerCase();
    if (mediaType === 'application/json') return;
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'];
    // A DELETE needs no body; a POST always says JSON, even empty, so no page can send it unasked.
    if (method === 'DELETE' && type === undefined && !hasBody) return;
    throw new HttpError(415, `${method} takes Content-Type: application/json (got ${type ?? 'none'})`);
  }

  /** The cookie the page keeps once it has shown the token (HttpOnly: no script reads it back). */
  cookie(): string {
    return `${this.cookieName}=${this.options.token}; Path=/; HttpOnly; SameSite=Strict`;
  }
}
