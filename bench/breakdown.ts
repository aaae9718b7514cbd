/**
 * Where the time and the memory go, for the goals that are missed: the start-up replay of the journal
 * (reading vs folding, and what a snapshot would cost instead), the verifier with and without the
 * checkpoint signatures, and the resident memory of the process floor (Node, tsx, the modules).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  foldRows,
  initialDerivedState,
  restoreDerivedState,
  snapshotDerivedState,
} from '../controller/domain/index.js';
import {
  Journal,
  loadOrCreateDeviceSecrets,
  openDatabase,
  verifyJournal,
} from '../controller/journal/index.js';
import { CONTROLLER_ID } from './lib/dataset.js';
import { rssOf } from './lib/env.js';
import { now, sleep } from './lib/stats.js';

const ROOT = resolve(import.meta.dirname, '..');

export interface ReplayBreakdown {
  rows: number;
  /** Journal.iterate() over every row (read + JSON.parse), s. */
  iterateS: number;
  /** foldRows over the same rows (read + parse + fold), s. */
  foldS: number;
  /** The derived state as a snapshot: JSON size, and the time to parse and restore it. */
  snapshotBytes: number;
  restoreMs: number;
}

export function replayBreakdown(dbFile: string): ReplayBreakdown {
  const db = openDatabase(dbFile, { readonly: true });
  const journal = new Journal(db, { controllerId: CONTROLLER_ID });
  let rows = 0;
  let t = now();
  for (const _ of journal.iterate(1)) rows++;
  const iterateS = (now() - t) / 1000;
  t = now();
  const state = foldRows(initialDerivedState(), journal.iterate(1));
  const foldS = (now() - t) / 1000;
  const json = JSON.stringify(snapshotDerivedState(state));
  t = now();
  restoreDerivedState(JSON.parse(json));
  const restoreMs = now() - t;
  db.close();
  return { rows, iterateS, foldS, snapshotBytes: json.length, restoreMs };
}

export interface VerifyBreakdown {
  rows: number;
  checkpoints: number;
  /** verifyJournal with the public key (what `sekisho verify` runs), s. */
  withSignaturesS: number;
  /** verifyJournal without the key: the chain and the checkpoint hashes only, s. */
  chainOnlyS: number;
}

export function verifyBreakdown(storageDir: string): VerifyBreakdown {
  const secrets = loadOrCreateDeviceSecrets(storageDir);
  const db = openDatabase(join(storageDir, 'journal.db'), { readonly: true });
  let t = now();
  const a = verifyJournal(db, { publicKey: secrets.publicKey });
  const withSignaturesS = (now() - t) / 1000;
  t = now();
  verifyJournal(db);
  const chainOnlyS = (now() - t) / 1000;
  db.close();
  return { rows: a.rows, checkpoints: a.checkpoints, withSignaturesS, chainOnlyS };
}

/** RSS (MB) of a child process once it has idled a second after `ready` resolves. */
async function idleRss(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const p = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  await sleep(1500);
  const r = rssOf(p.pid!).rss;
  p.kill('SIGKILL');
  return (r * 1048576) / 1e6;
}

export interface MemoryFloor {
  bareNodeMB: number;
  tsxNodeMB: number;
  /** `import('controller/cli.ts')` under tsx: every module loaded, nothing started. */
  modulesMB: number;
  /** The bundle (esbuild, no tsx at run time), or null if it could not be built. */
  bundle: string | null;
}

/** The floor under `sekisho start`: bare Node, Node with tsx's loader, all of Sekisho's modules loaded. */
export async function memoryFloor(work: string): Promise<MemoryFloor> {
  const idle = 'setInterval(() => {}, 1000)';
  const bareNodeMB = await idleRss(['-e', idle]);
  const tsxNodeMB = await idleRss(['--import', 'tsx', '-e', idle]);
  const loader = join(work, 'load-modules.mts');
  writeFileSync(
    loader,
    `await import(${JSON.stringify(join(ROOT, 'controller/cli.ts'))});\nsetInterval(() => {}, 1000);\n`,
  );
  const modulesMB = await idleRss(['--import', 'tsx', loader]);
  return { bareNodeMB, tsxNodeMB, modulesMB, bundle: buildBundle() };
}

/**
 * `sekisho` as plain JavaScript: every source file transpiled on its own by esbuild into
 * tmp/bench-js/ (git-ignored), same layout, with the dashboard's assets linked and package.json
 * copied beside it, so that the relative paths the code uses still resolve and it runs without
 * tsx's loader. Returns the entry file, or null.
 */
export function buildBundle(): string | null {
  const out = join(ROOT, 'tmp', 'bench-js');
  rmSync(out, { recursive: true, force: true });
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'firmware') walk(rel);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(rel);
    }
  };
  for (const d of ['controller', 'dashboards', 'hardware', 'firmware-bridge']) walk(d);
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/esbuild'),
    [...files, '--format=esm', '--platform=node', '--target=node20', `--outbase=${ROOT}`, `--outdir=${out}`],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) return null;
  for (const d of ['controller', 'dashboards', 'hardware', 'firmware-bridge'])
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true }))
      if (e.isDirectory() && e.name === 'assets') symlinkSync(join(ROOT, d, e.name), join(out, d, e.name));
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  for (const f of readdirSync(join(ROOT, 'firmware-bridge')))
    if (f.endsWith('.json')) copyFileSync(join(ROOT, 'firmware-bridge', f), join(out, 'firmware-bridge', f));
  const entry = join(out, 'sekisho.mjs');
  writeFileSync(
    entry,
    "import { main } from './controller/cli.js';\nprocess.exitCode = await main(process.argv.slice(2));\n",
  );
  return entry;
}
