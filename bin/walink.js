#!/usr/bin/env node
// The `walink` command. The sources are TypeScript; tsx's loader runs them directly, so an
// installed checkout needs no build step and never runs stale compiled code.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
