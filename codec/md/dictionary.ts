// The two MD token dictionaries (docs/protocol-md.md, "Binary nodes: dictionaries"), kept as data: the JSON
// files are the published tables unchanged. Version 3 is a different table, not an extension of version 2.
// Each dictionary also carries the encoder behaviour of the client that speaks it (see MdDictionary).
import { CodecError } from '../errors.ts';
import TOKENS_V2 from './tokens-v2.json' with { type: 'json' };
import TOKENS_V3 from './tokens-v3.json' with { type: 'json' };
import { MD_TAG } from './wire.ts';

export type MdDictVersion = 2 | 3;

export interface MdDictionary {
  readonly version: MdDictVersion;
  /** `single[b]` is the token of byte b (1..235); `single[0]` is "" and never a token (00 is LIST_EMPTY). */
  readonly single: readonly string[];
  /** `double[d][j]` is the token of the bytes (DICTIONARY_0 + d, j). */
  readonly double: readonly (readonly string[])[];
  /** string → token code: b for a single-byte token, 256 + 256·d + j for a double-byte one. */
  readonly tokenCode: ReadonlyMap<string, number>;
  /** Whether INTEROP_JID (245) and FB_JID (246) exist: version 3 only. */
  readonly interopJids: boolean;
  /**
   * Encoder choices where the two reference clients differ (docs/protocol-md.md, "Binary nodes: encoder"):
   * version 2 writes like Baileys 6.17.16 ("" as byte 00; AD_JID domain type 1 for `@lid`, else 0),
   * version 3 like Baileys HEAD ("" as BINARY_8 of length 0; domain types 128/129 for hosted, the `_agent`
   * suffix as the domain type).
   */
  readonly emptyStringAsListEmpty: boolean;
  readonly typedDomains: boolean;
}

interface TokenFile {
  dictVersion: number;
  single: string[];
  double: string[][];
}

function buildDictionary(file: TokenFile, version: MdDictVersion): MdDictionary {
  if (
    file.dictVersion !== version ||
    file.single.length !== MD_TAG.DICTIONARY_0 ||
    file.double.length !== 4
  ) {
    throw new CodecError('UNKNOWN_VERSION', `token table for version ${version} is malformed`);
  }
  const tokenCode = new Map<string, number>();
  for (let byte = 1; byte < file.single.length; byte++) tokenCode.set(file.single[byte]!, byte);
  file.double.forEach((table, d) => {
    table.forEach((token, j) => {
      tokenCode.set(token, 256 + 256 * d + j);
    });
  });
  return Object.freeze({
    version,
    single: Object.freeze(file.single.slice()),
    double: Object.freeze(file.double.map((table) => Object.freeze(table.slice()))),
    tokenCode,
    interopJids: version === 3,
    emptyStringAsListEmpty: version === 2,
    typedDomains: version === 3,
  });
}

export const MD_DICTIONARY_V2: MdDictionary = buildDictionary(TOKENS_V2, 2);
export const MD_DICTIONARY_V3: MdDictionary = buildDictionary(TOKENS_V3, 3);

/** The dictionary of a connection header's 4th byte; CodecError UNKNOWN_VERSION for anything but 2 or 3. */
export function dictionaryForMdVersion(version: number): MdDictionary {
  if (version === 2) return MD_DICTIONARY_V2;
  if (version === 3) return MD_DICTIONARY_V3;
  throw new CodecError('UNKNOWN_VERSION', `no MD token dictionary for version ${version}`);
}

export function resolveDictionary(dictionary: MdDictionary | MdDictVersion): MdDictionary {
  return typeof dictionary === 'number' ? dictionaryForMdVersion(dictionary) : dictionary;
}
