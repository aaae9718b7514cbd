/**
 * The Integrity page's witness check: the uploaded history is written to a private temporary file
 * and compared with the journal by `witness-child` in a child process (as "verify now" runs its
 * walk), one check at a time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckpointsCheck } from '../controller/witness/checkpoints-file.js';
import type { WitnessCheck } from '../controller/witness/compare.js';

/** The largest history the page takes (larger ones: `sekisho verify --witness` on the command line). */
export const WITNESS_UPLOAD_MAX = 16 * 1024 * 1024;

export type WitnessOutcome =
  | { check: WitnessCheck }
  | { checkpoints: CheckpointsCheck }
  | { refused: string };
export type WitnessChecker = (history: string, publicKeyPem: string) => Promise<WitnessOutcome>;

/**
 * Runs the check in a child process on a read-only connection to `dbFile`: a witness history, or a
 * checkpoints file of `controllerId` (told apart by the first line).
 */
export function childWitnessChecker(dbFile: string, controllerId: string): WitnessChecker {
  const fromSources = import.meta.url.endsWith('.ts');
  const script = join(import.meta.dirname, fromSources ? 'witness-child.ts' : 'witness-child.js');
  const loader = fromSources
    ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
    : [];
  return (history, pem) =>
    new Promise((resolve, reject) => {
      const dir = mkdtempSync(join(tmpdir(), 'sekisho-witness-'));
      const file = join(dir, 'history.jsonl');
      writeFileSync(file, history, { mode: 0o600 });
      const done = () => rmSync(dir, { recursive: true, force: true });
      const child = spawn(process.execPath, [...loader, script, dbFile, file, controllerId], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', (e) => {
        done();
        reject(e);
      });
      child.on('close', (code) => {
        done();
        if (code !== 0)
          return reject(new Error(`witness check exited with ${code}: ${err.trim().slice(0, 500)}`));
        try {
          resolve(JSON.parse(out) as WitnessOutcome);
        } catch {
          reject(new Error(`witness check answered no JSON: ${out.slice(0, 200)}`));
        }
      });
      child.stdin.end(pem);
    });
}
