// What a build of Sekisho is made from, and the check that a build still matches its sources.
// scripts/build.mjs writes the stamp (build-stamp.json in the build folder: the SHA-256 of every
// input file); bin/sekisho-dist.mjs checks it at every start and refuses to run a build that is
// missing or older than the sources beside it. Plain JavaScript: it runs before any build exists.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The folders whose TypeScript is transpiled (firmware-bridge/firmware holds the C++ firmware). */
export const SOURCE_DIRS = ['controller', 'dashboards', 'hardware', 'firmware-bridge'];
const SKIP_DIRS = new Set(['node_modules', 'firmware-bridge/firmware']);
/** Inputs that are not in SOURCE_DIRS but change what a build is (the build itself, the package). */
const EXTRA_INPUTS = ['package.json', 'scripts/build.mjs', 'bin/build-stamp.mjs'];
export const STAMP_FILE = 'build-stamp.json';
export const STAMP_FORMAT = 'sekisho-build/1';

/**
 * The build's inputs under `root`, as sorted '/'-separated relative paths: `transpile` (every .ts
 * but tests and declarations), `copy` (files read at run time: anything in an `assets` folder, and
 * JSON files), and `all` (those two and EXTRA_INPUTS: what the stamp covers).
 */
export function buildInputs(root) {
  const transpile = [];
  const copy = [];
  const walk = (rel, inAssets) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !SKIP_DIRS.has(r)) walk(r, inAssets || e.name === 'assets');
      } else if (!e.isFile()) {
        // sockets, links and the like are no part of a build
      } else if (e.name.endsWith('.ts')) {
        if (!e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) transpile.push(r);
      } else if (inAssets || e.name.endsWith('.json')) {
        copy.push(r);
      }
    }
  };
  for (const d of SOURCE_DIRS) walk(d, false);
  transpile.sort();
  copy.sort();
  return { transpile, copy, all: [...transpile, ...copy, ...EXTRA_INPUTS].sort() };
}

/** SHA-256 (hex) of each of `files` under `root`; a file that cannot be read maps to null. */
export function digests(root, files) {
  const out = {};
  for (const f of files) {
    try {
      out[f] = createHash('sha256')
        .update(readFileSync(join(root, f)))
        .digest('hex');
    } catch {
      out[f] = null;
    }
  }
  return out;
}

/**
 * The stamp for a build of `root` made now from `inputs` (buildInputs(root), the same walk the build
 * transpiles and copies from: a file created after it is neither built nor stamped).
 */
export function makeStamp(root, builtWith, inputs) {
  return {
    format: STAMP_FORMAT,
    builtAt: new Date().toISOString(),
    builtWith,
    files: digests(root, inputs.all),
  };
}

/**
 * Whether the build in `dist` was made from the sources now in `root`: null if so, else what is
 * wrong, in one line (which files changed, appeared or disappeared since the build).
 */
export function checkBuild(root, dist) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(dist, STAMP_FILE), 'utf8'));
  } catch (e) {
    if (e?.code === 'ENOENT') return `there is no build in ${dist}`;
    return `the build in ${dist} has an unreadable ${STAMP_FILE} (${e?.message})`;
  }
  if (!stamp || stamp.format !== STAMP_FORMAT || typeof stamp.files !== 'object' || stamp.files === null)
    return `the build in ${dist} was made by another version of the build script`;
  const now = digests(root, buildInputs(root).all);
  const changed = [];
  for (const [f, hash] of Object.entries(now)) {
    if (!(f in stamp.files)) changed.push(`${f} is new`);
    else if (stamp.files[f] !== hash) changed.push(hash === null ? `${f} is missing` : `${f} changed`);
  }
  for (const f of Object.keys(stamp.files)) if (!(f in now)) changed.push(`${f} was removed`);
  if (changed.length === 0) return null;
  const shown = changed.slice(0, 5).join(', ');
  const more = changed.length > 5 ? ` and ${changed.length - 5} more` : '';
  return `the build in ${dist} (${stamp.builtAt}) is older than the sources: ${shown}${more}`;
}
