// The API token of `walink serve`: 32 random bytes (base64url), made at first start and kept in one
// file beside the sessions (`<home>/api-token`, mode 0600). Created atomically: written to a private
// temporary file and linked into place, so a reader never sees half a token and two services starting
// at once end up with the same one.
import { randomBytes } from 'node:crypto';
import { chmod, link, open, readFile, stat, unlink } from 'node:fs/promises';

export type ApiTokenErrorCode = 'WALINK_API_TOKEN_INVALID' | 'WALINK_API_TOKEN_UNREADABLE';

export class ApiTokenError extends Error {
  override name = 'ApiTokenError';
  constructor(
    readonly code: ApiTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token in `file`, made (mode 0600) when there is none yet. */
export async function loadOrCreateApiToken(file: string): Promise<string> {
  const existing = await readToken(file);
  if (existing !== undefined) return existing;
  const token = newApiToken();
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link() fails when the name exists: whoever linked first wins, the other reads theirs.
    await link(temporary, file);
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readToken(file);
    if (winner === undefined) throw new ApiTokenError('WALINK_API_TOKEN_UNREADABLE', `${file} vanished`);
    return winner;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

async function readToken(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApiTokenError(
      'WALINK_API_TOKEN_UNREADABLE',
      `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  const token = text.trim();
  if (!TOKEN.test(token)) {
    throw new ApiTokenError(
      'WALINK_API_TOKEN_INVALID',
      `${file} does not hold a token (32 to 256 characters of A-Z a-z 0-9 _ -): remove it to make a new one`,
    );
  }
  // A token someone else can read is no secret: keep the file private.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return token;
}
