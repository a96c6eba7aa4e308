#!/usr/bin/env node
// `walink` from the sources, for development and the tests (`npm run walink -- …`, `npm start`): tsx's
// loader runs the TypeScript directly, so a checkout never runs stale compiled code. The installed
// package's `walink` is the compiled dist/cli/main.js (`npm run build`), which needs no loader.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
