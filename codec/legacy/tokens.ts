import { CodecError } from '../errors.ts';
import { TOKENS_V11 } from './tokens-v11.ts';

export { TOKENS_V11 };

export type Dictionary = readonly (string | null)[];

/** The server of user JIDs: on the wire token 80 is `s.whatsapp.net`, everywhere else it is `c.us`. */
export const USER_SERVER = 'c.us';
const WIRE_USER_SERVER = 's.whatsapp.net';

export function dictionaryForVersion(binVersion: number): Dictionary {
  if (binVersion === 11) return TOKENS_V11;
  throw new CodecError('UNKNOWN_VERSION', `no token dictionary for binVersion ${binVersion}`);
}

export interface TokenTables {
  /** index → decoded string (`s.whatsapp.net` already mapped to `c.us`) */
  readonly decode: readonly (string | null)[];
  /** string → index, including `c.us` → the index of `s.whatsapp.net` */
  readonly encode: ReadonlyMap<string, number>;
}

const cache = new WeakMap<Dictionary, TokenTables>();

/** Built once per dictionary so that decoding is an array lookup and encoding a map lookup. */
export function tokenTables(dictionary: Dictionary): TokenTables {
  let tables = cache.get(dictionary);
  if (!tables) {
    const decode = dictionary.map((token) => (token === WIRE_USER_SERVER ? USER_SERVER : token));
    const encode = new Map<string, number>();
    // Indices 0-2 are structural bytes, never tokens.
    for (let index = 3; index < dictionary.length; index++) {
      const token = dictionary[index];
      if (typeof token === 'string' && !encode.has(token)) encode.set(token, index);
    }
    const wireIndex = encode.get(WIRE_USER_SERVER);
    if (wireIndex !== undefined) encode.set(USER_SERVER, wireIndex);
    tables = { decode, encode };
    cache.set(dictionary, tables);
  }
  return tables;
}
