// A worker killed mid-job leaves its temporary `.name.<random>.part` beside the output; the worker that
// takes the job over removes it first. Only parts of this job's own output are touched.
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { defaultOutPath } from './process-media.ts';

export async function removeStaleParts(
  outPath: string | undefined,
  mediaDir: string,
  id: string,
): Promise<void> {
  const target = outPath ?? defaultOutPath(mediaDir, id);
  const dir = dirname(target);
  // The default name may carry any extension: match on the id prefix.
  const prefix = outPath ? `.${basename(outPath)}.` : `.${id}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.part'))
      .map((n) => unlink(join(dir, n)).catch(() => undefined)),
  );
}
