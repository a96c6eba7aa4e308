// A QR code as terminal text, as small as it can be and still scan: two modules per character cell
// (upper and lower half blocks, so modules stay square) and a one-module quiet zone. A legacy QR text
// (~136 bytes: version 7, 45 modules, or 6 when its characters pack well) takes at most 24 rows and 47
// columns, so an 80×24 terminal shows all of it.
import QRCode from 'qrcode';

const QUIET = 1;
const RESET = '\x1b[0m';
const BLACK_ON_WHITE = '\x1b[30;47m';

export interface QrArtOptions {
  /** ANSI colours (black on white, whatever the terminal's theme); plain half blocks otherwise. */
  color: boolean;
}

/**
 * The rows of `text`'s QR code, without line ends. With colour, dark modules are drawn in black on a
 * white background. Without it (a file, NO_COLOR) the glyphs draw the light modules, which reads
 * correctly on the usual light-on-dark terminal.
 */
export function qrArt(text: string, options: QrArtOptions): string[] {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const size = modules.size;
  const span = size + 2 * QUIET;
  const dark = (row: number, column: number): boolean => {
    const r = row - QUIET;
    const c = column - QUIET;
    return r >= 0 && c >= 0 && r < size && c < size && modules.get(r, c) === 1;
  };
  // Past the bottom quiet zone (an odd number of rows) nothing is drawn: the terminal's own background.
  const drawn = (row: number) => row < span;
  const rows: string[] = [];
  for (let row = 0; row < span; row += 2) {
    let line = '';
    for (let column = 0; column < span; column++) {
      const top = dark(row, column);
      const bottom = drawn(row + 1) ? dark(row + 1, column) : null;
      line += options.color ? colored(top, bottom) : plain(top, bottom);
    }
    rows.push(options.color ? `${BLACK_ON_WHITE}${line}${RESET}` : line);
  }
  return rows;
}

// Black text on a white background: a full cell is light, '▀' darkens the top half, '▄' the bottom.
function colored(top: boolean, bottom: boolean | null): string {
  if (bottom === null) return `${RESET}${top ? '\x1b[30m' : '\x1b[37m'}▀${BLACK_ON_WHITE}`;
  if (top && bottom) return '█';
  if (top) return '▀';
  if (bottom) return '▄';
  return ' ';
}

// Light modules as glyphs, dark ones as the (dark) terminal background.
function plain(top: boolean, bottom: boolean | null): string {
  const lightTop = !top;
  const lightBottom = bottom !== null && !bottom;
  if (lightTop && lightBottom) return '█';
  if (lightTop) return '▀';
  if (lightBottom) return '▄';
  return ' ';
}
