#!/usr/bin/env node
// The `sekisho` command as deployed (systemd unit, /usr/local/bin/sekisho, npm start): runs the
// plain JavaScript that `npm run build` (scripts/build.mjs) made in dist/, with no TypeScript
// loader. bin/sekisho.mjs runs the TypeScript sources through tsx instead (development, tests).
//
// Before anything else it checks the build's stamp against the sources beside it, and refuses to
// run a build that is missing or out of date (exit status 2) — for an access controller, running
// old code after an update without anyone noticing is worse than not running. One exception:
// `secure-outputs` (the unit's ExecStopPost) still runs, with a warning, because it is what drives
// the lock outputs to their secured level when the service stops — also when it stopped because
// of this very check.
//
// SEKISHO_DIST=DIR runs the build in DIR instead (made with `node scripts/build.mjs --out DIR`;
// the tests and the bench use it); it is still checked against this checkout's sources.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkBuild } from './build-stamp.mjs';

const root = resolve(import.meta.dirname, '..');
const dist = process.env.SEKISHO_DIST ? resolve(process.env.SEKISHO_DIST) : join(root, 'dist');
const args = process.argv.slice(2);

const problem = checkBuild(root, dist);
if (problem) {
  const build = process.env.SEKISHO_DIST ? `node scripts/build.mjs --out ${dist}` : 'npm run build';
  const fix = `run \`${build}\` in ${root} (it transpiles the TypeScript sources to JavaScript)`;
  if (args[0] !== 'secure-outputs') {
    process.stderr.write(`sekisho: ${problem}\nsekisho: not starting; ${fix}\n`);
    process.exit(2);
  }
  process.stderr.write(`sekisho: warning: ${problem}; securing the outputs anyway. Then ${fix}\n`);
}
const { main } = await import(pathToFileURL(join(dist, 'controller/cli.js')).href);
process.exitCode = await main(args);
