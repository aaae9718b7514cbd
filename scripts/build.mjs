#!/usr/bin/env node
// `npm run build`: transpiles Sekisho's TypeScript to plain JavaScript, so that the deployed
// controller (bin/sekisho-dist.mjs) runs without a TypeScript loader — no tsx loader thread, no
// esbuild in the process, no transform cache: about 40 MB less resident memory.
//
//   node scripts/build.mjs [--out DIR]      DIR defaults to dist/ in the checkout
//
// Every .ts file of controller/, dashboards/, hardware/ and firmware-bridge/ (not tests, not the
// C++ firmware) is transpiled on its own by esbuild (no bundling) to DIR with the same layout, so
// the relative paths the code uses at run time still resolve: the dashboard's assets and the JSON
// files are copied beside them, and package.json to DIR (the package type, the version). Last,
// DIR/build-stamp.json records the SHA-256 of every input (bin/build-stamp.mjs); the entry refuses
// to run a build whose stamp does not match the sources.
//
// The build is made in a new folder next to DIR and then put in DIR's place, so a failed build
// leaves the previous one as it was (which the stamp then reports as out of date). Imports of
// packages resolve from DIR's parent folders: a DIR outside the checkout needs a node_modules beside it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build, version as esbuildVersion } from 'esbuild';
import { buildInputs, makeStamp, STAMP_FILE } from '../bin/build-stamp.mjs';

const ROOT = resolve(import.meta.dirname, '..');

function usage(message) {
  process.stderr.write(`build: ${message}\nusage: node scripts/build.mjs [--out DIR]\n`);
  process.exit(2);
}

let out = join(ROOT, 'dist');
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--out' && i + 1 < args.length) out = resolve(args[++i]);
  else if (a.startsWith('--out=')) out = resolve(a.slice('--out='.length));
  else usage(`unknown argument ${a}`);
}
if (!relative(out, ROOT).startsWith('..')) usage(`${out} contains the sources; choose a folder of its own`);
// Only ever replace an empty folder or an earlier build, never anything else someone points --out at.
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, STAMP_FILE)))
  usage(`${out} is not empty and holds no earlier build (${STAMP_FILE}): not replacing it`);

const t0 = performance.now();
const inputs = buildInputs(ROOT);
// The digests are taken before transpiling: a source changed during the build leaves a stamp that
// no longer matches it, so the change is not lost silently.
const stamp = makeStamp(ROOT, { esbuild: esbuildVersion, node: process.version }, inputs);

const staging = `${out}.building-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
try {
  await build({
    entryPoints: inputs.transpile.map((f) => join(ROOT, f)),
    outbase: ROOT,
    outdir: staging,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const f of inputs.copy) {
    mkdirSync(dirname(join(staging, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(staging, f));
  }
  copyFileSync(join(ROOT, 'package.json'), join(staging, 'package.json'));
  writeFileSync(join(staging, STAMP_FILE), `${JSON.stringify(stamp, null, 1)}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
} catch (e) {
  rmSync(staging, { recursive: true, force: true });
  process.stderr.write(`build: failed: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
}
const ms = Math.round(performance.now() - t0);
process.stdout.write(
  `build: ${inputs.transpile.length} TypeScript files and ${inputs.copy.length} assets into ${out} in ${ms} ms\n`,
);
if (relative(ROOT, out).startsWith('..'))
  process.stdout.write(`build: note: ${out} is outside the checkout: give it a node_modules to run\n`);
