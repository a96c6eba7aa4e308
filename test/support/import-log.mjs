// `node --import ./test/support/import-log.mjs …` appends the URL of every ES module the process
// resolves to the file named by WALINK_IMPORT_LOG: which packages did a command load?
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.WALINK_IMPORT_LOG) appendFileSync(process.env.WALINK_IMPORT_LOG, resolved.url + '\\n');
  return resolved;
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
