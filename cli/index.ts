// The command line's library side (the program itself is cli/main.ts, run by bin/walink.js).
export { machineDiagram } from './commands/diagram.ts';
