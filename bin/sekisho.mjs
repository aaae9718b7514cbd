#!/usr/bin/env node
// The `sekisho` command for development and the tests: runs the TypeScript sources through tsx's
// loader, no build needed. The deployed controller runs bin/sekisho-dist.mjs instead (the build
// that `npm run build` makes in dist/: plain JavaScript, no loader, ~40 MB less resident memory).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../controller/cli.ts');
process.exitCode = await main(process.argv.slice(2));
