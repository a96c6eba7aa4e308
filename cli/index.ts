// The command line's library side (the program itself is cli/main.ts, run by bin/walink.js).
export { machineDiagram } from './commands/diagram.ts';
export { qrArt } from './qr-art.ts';
export { humanPrinter, jsonPrinter, type Printer, wantsColor } from './session-printer.ts';
export { terminalSafe, terminalSafeJson } from './terminal-text.ts';
