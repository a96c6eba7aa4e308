// A one-line progress bar on stderr for terminals; silent elsewhere so logs and pipes stay clean.
export interface ProgressBar {
  update(done: number, total: number | null): void;
  finish(): void;
}

const MIB = 1024 * 1024;

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let drawn = false;
  return {
    update(done, total) {
      const width = 30;
      const share = total ? Math.min(1, done / total) : 0;
      const bar = total
        ? `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] ${(share * 100).toFixed(0)}% `
        : '';
      const sizes = `${(done / MIB).toFixed(1)}${total ? `/${(total / MIB).toFixed(1)}` : ''} MiB`;
      stream.write(`\r${label} ${bar}${sizes}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}
