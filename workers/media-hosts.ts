// Where media may be fetched from. A media message names its object by `url` or by `directPath` on a media
// host; both come from a remote party, so neither may point at this machine's files, at another host than
// the media CDN (SSRF), or escape the media host's root. Only http(s) URLs whose origin matches the
// allow-list are fetched, and redirects are held to the same list.
import { MediaError } from './errors.ts';

/**
 * WhatsApp's media hosts, https only: `mmg.whatsapp.net` (the default host directPaths are joined to, as
 * public clients do), its fallback, and the regional CDN names the server hands out in its media
 * connection list (`media-<pop>.cdn.whatsapp.net`, `media.<pop>.fna.whatsapp.net`).
 */
export const DEFAULT_MEDIA_HOSTS: readonly string[] = [
  'mmg.whatsapp.net',
  'mmg-fallback.whatsapp.net',
  '*.cdn.whatsapp.net',
  '*.fna.whatsapp.net',
];

/** The host directPaths are joined to when a message carries no url. */
export const DEFAULT_MEDIA_HOST = 'https://mmg.whatsapp.net';

/** Environment variable with a comma-separated allow-list (`default` stands for DEFAULT_MEDIA_HOSTS). */
export const MEDIA_HOSTS_ENV = 'WALINK_MEDIA_HOSTS';

interface HostPattern {
  protocol: 'http:' | 'https:';
  /** A lowercase host name or IP literal; with `wildcard`, a suffix every allowed name ends with. */
  host: string;
  wildcard: boolean;
  /** '' for the scheme's default port, as URL.port says it. */
  port: string;
}

/** A parsed allow-list: patterns like `mmg.whatsapp.net`, `*.fna.whatsapp.net`, `http://127.0.0.1:7000`. */
export class MediaHostPolicy {
  private constructor(
    private readonly patterns: readonly HostPattern[],
    readonly description: string,
  ) {}

  /**
   * Entries are host names (https, default port), `*.`-prefixed suffixes, or origins with a scheme and an
   * optional port (`http://127.0.0.1:7000`). `default` expands to DEFAULT_MEDIA_HOSTS.
   */
  static parse(entries: readonly string[]): MediaHostPolicy {
    const expanded = entries
      .flatMap((entry) => entry.split(','))
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .flatMap((entry) => (entry === 'default' ? DEFAULT_MEDIA_HOSTS : [entry]));
    return new MediaHostPolicy([...new Set(expanded)].map(parsePattern), [...new Set(expanded)].join(', '));
  }

  static default(): MediaHostPolicy {
    return MediaHostPolicy.parse(DEFAULT_MEDIA_HOSTS);
  }

  /** The allow-list from WALINK_MEDIA_HOSTS, or the default one. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): MediaHostPolicy {
    const text = env[MEDIA_HOSTS_ENV];
    return text?.trim() ? MediaHostPolicy.parse([text]) : MediaHostPolicy.default();
  }

  /** This list plus exact origins (the media host, the server's own CDN). */
  with(origins: readonly string[]): MediaHostPolicy {
    const added = origins.filter((o) => o !== '').map((o) => originPattern(o));
    const fresh = added.filter((p) => !this.patterns.some((q) => samePattern(p, q)));
    if (fresh.length === 0) return this;
    return new MediaHostPolicy(
      [...this.patterns, ...fresh],
      [this.description, ...fresh.map(patternText)].filter(Boolean).join(', '),
    );
  }

  allows(url: URL): boolean {
    const host = url.hostname.toLowerCase();
    return this.patterns.some(
      (p) =>
        p.protocol === url.protocol &&
        p.port === url.port &&
        (p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host),
    );
  }

  /** The URL if it may be fetched; else a MediaError that says why (BAD_URL, HOST_NOT_ALLOWED). */
  check(text: string, what = 'the media url'): URL {
    const url = parseMediaUrl(text, what);
    if (!this.allows(url))
      throw new MediaError(
        'HOST_NOT_ALLOWED',
        `${what} is on ${url.protocol}//${url.host}, which is not an allowed media host (allowed: ${this.description || 'none'})`,
      );
    return url;
  }
}

/** An http(s) URL without credentials; anything else (a path, file:, data:, ftp:) is BAD_URL. */
export function parseMediaUrl(text: string, what = 'the media url'): URL {
  if (typeof text !== 'string' || !/^https?:\/\//i.test(text))
    throw new MediaError('BAD_URL', `${what} is not an http(s) URL; media is never read from a local path`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MediaError('BAD_URL', `${what} does not parse as a URL`);
  }
  if (url.username || url.password) throw new MediaError('BAD_URL', `${what} carries credentials`);
  return url;
}

/**
 * `directPath` joined to the media host. It must be a path: one leading `/`, no scheme or authority, no
 * backslash, no control characters or spaces, no `.`/`..` segment (also percent-encoded).
 */
export function directPathUrl(directPath: string, mediaHost: string): URL {
  const refuse = (why: string) => new MediaError('BAD_DIRECT_PATH', `the directPath ${why}`);
  if (typeof directPath !== 'string' || directPath.length === 0) throw refuse('is empty');
  if (directPath.length > 4096) throw refuse('is longer than 4096 characters');
  if (!directPath.startsWith('/') || directPath.startsWith('//'))
    throw refuse('must start with a single "/" (a path on the media host, not a host or URL)');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\\\u0000-\u0020\u007f#]/.test(directPath))
    throw refuse('contains a backslash, a space, a "#" or a control character');
  const path = directPath.split('?')[0]!;
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw refuse('has malformed percent-encoding');
    }
    if (decoded === '.' || decoded === '..') throw refuse('has a "." or ".." segment');
    if (decoded.includes('/') || decoded.includes('\\')) throw refuse('has an encoded "/" or "\\"');
  }
  const base = parseMediaUrl(mediaHost, 'the media host');
  const url = new URL(`${base.origin}${directPath}`);
  // Belt and braces: whatever the parser made of it, it is still on the media host.
  if (url.origin !== base.origin) throw refuse('leaves the media host');
  return url;
}

function parsePattern(entry: string): HostPattern {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) return originPattern(entry);
  const wildcard = entry.startsWith('*.');
  const host = (wildcard ? entry.slice(2) : entry).toLowerCase();
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host) || (wildcard && !host.includes('.')))
    throw new MediaError(
      'BAD_URL',
      `media host "${entry}" is not a host name, a *.suffix or an http(s) origin such as http://127.0.0.1:7000`,
    );
  return { protocol: 'https:', host, wildcard, port: '' };
}

function originPattern(text: string): HostPattern {
  let url: URL;
  try {
    url = new URL(text.replace('://*.', '://wildcard--.'));
  } catch {
    throw new MediaError('BAD_URL', `media host "${text}" does not parse as an origin`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new MediaError('BAD_URL', `media host "${text}" is not http or https`);
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search)
    throw new MediaError('BAD_URL', `media host "${text}" must be an origin: scheme, host and port only`);
  const wildcard = url.hostname.startsWith('wildcard--.');
  return {
    protocol: url.protocol,
    host: wildcard ? url.hostname.slice('wildcard--.'.length) : url.hostname.toLowerCase(),
    wildcard,
    port: url.port,
  };
}

function samePattern(a: HostPattern, b: HostPattern): boolean {
  return a.protocol === b.protocol && a.host === b.host && a.wildcard === b.wildcard && a.port === b.port;
}

function patternText(p: HostPattern): string {
  return `${p.protocol}//${p.wildcard ? '*.' : ''}${p.host}${p.port ? `:${p.port}` : ''}`;
}

/** The http(s) origin of a server's WebSocket URL (ws → http, wss → https): where its own CDN lives. */
export function serverOrigin(wsUrl: string): string | undefined {
  try {
    const url = new URL(wsUrl);
    if (url.protocol === 'ws:') return `http://${url.host}`;
    if (url.protocol === 'wss:') return `https://${url.host}`;
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch {
    // not a URL: nothing to allow
  }
  return undefined;
}
