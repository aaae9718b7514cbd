/**
 * Where the time and the memory go, for the goals that are missed: the start-up replay of the journal
 * (reading vs folding, and what a snapshot would cost instead), the verifier with and without the
 * checkpoint signatures, and the resident memory of the process floor (Node, tsx, the modules).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { DEPLOYED, SERVICE_ENV, SERVICE_NODE_ARGS } from './process.js';

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
  /** The same from the build (plain JavaScript, no tsx), with the unit's node flags. */
  builtModulesMB: number;
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
  const built = join(work, 'load-built.mjs');
  writeFileSync(
    built,
    `await import(${JSON.stringify(pathToFileURL(join(DEPLOYED.dist, 'controller/cli.js')).href)});\nsetInterval(() => {}, 1000);\n`,
  );
  const builtModulesMB = await idleRss([...SERVICE_NODE_ARGS, built], SERVICE_ENV);
  return { bareNodeMB, tsxNodeMB, modulesMB, builtModulesMB };
}
