// bytes ⇄ structures, no I/O. The legacy codec's names are re-exported here as they always were; the
// multi-device codec lives in codec/md/ behind its own index.ts.
export { CodecError, type CodecErrorCode, isCodecError } from './errors.ts';
export { jsonSafe } from './json-safe.ts';
export * from './legacy/index.ts';
export * as md from './md/index.ts';
