/**
 * What every torture scenario shares: the real `sekisho start` as a child process that can be killed
 * at any moment (also while it starts), people enrolled through the CLI, and the checks made on the
 * storage after every crash — SQLite's integrity_check, the hash chain and signed checkpoints, every
 * unlock preceded by its grant, every acknowledged decision present.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SIGNING_KEY_FILE, verifyJournal } from '../../../controller/journal/index.js';
import {
  type Api,
  apiClient,
  type Proc,
  seedStaff,
  spawnController as spawn,
} from '../../helpers/controller.js';

/** The bench's deterministic PRNG: a failing run can be repeated with its seed. */
export { rng } from '../../../bench/lib/stats.js';
export { sleep } from '../../helpers/util.js';
export { type Api, apiClient as api, type Proc };

export const DOOR = 'machine-room';

/** Spawns `sekisho start` (logging only warnings); does not wait for it to be ready. */
export function spawnController(configFile: string, storageDir: string): Proc {
  return spawn(configFile, storageDir, { log: 'warn' });
}

export interface Enrolled {
  personId: string;
  credential: string;
}

/** Enrols staff with access to the door (before the controller starts). */
export function enrolStaff(configFile: string, count: number, prefix = 0x1a): Enrolled[] {
  const out: Enrolled[] = [];
  for (let i = 0; i < count; i++) {
    const credential = (prefix * 0x1_0000_0000 + 0x1000 + i).toString(16).toUpperCase().padStart(10, '0');
    const p = seedStaff(configFile, {
      name: `Torture Staff ${i}`,
      displayId: `T-${i}`,
      door: DOOR,
      credential,
    });
    out.push({ personId: p.personId, credential });
  }
  return out;
}

interface RawRow {
  seq: number;
  type: string;
  bytes: string;
}

export interface StorageCheck {
  integrity: string;
  verified: boolean;
  problem: string | null;
  rows: number;
  headSeq: number;
  /** door_unlocked rows with no grant, exit request or override before them since the last relock. */
  unlocksWithoutGrant: number[];
  /** Acknowledged seqs (HTTP 200 with a seq) that are not the row they were acknowledged as. */
  missingAcks: number[];
  ms: number;
}

/**
 * The checks after a crash, on the files as the crash left them (a fresh read-only connection, which
 * sees the committed WAL frames as a restart would).
 */
export function checkStorage(
  storageDir: string,
  acknowledged: ReadonlyMap<number, string> = new Map(),
): StorageCheck {
  const t0 = performance.now();
  const file = join(storageDir, 'journal.db');
  if (!existsSync(file))
    return {
      integrity: 'no journal yet',
      verified: true,
      problem: null,
      rows: 0,
      headSeq: 0,
      unlocksWithoutGrant: [],
      missingAcks: [...acknowledged.keys()],
      ms: 0,
    };
  const db = new Database(file, { readonly: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    // The public key from the signing key as stored (nothing is written: the disk may be full).
    const publicKey = createPublicKey(readFileSync(join(storageDir, SIGNING_KEY_FILE)));
    const v = verifyJournal(db, { publicKey });
    const unlocksWithoutGrant: number[] = [];
    let armed = false;
    const rows = db
      .prepare('SELECT seq, type, bytes FROM journal ORDER BY seq')
      .iterate() as Iterable<RawRow>;
    const bySeq = new Map<number, string>();
    for (const r of rows) {
      if (r.type === 'access') {
        const d = JSON.parse(r.bytes).data as { result: string };
        if (d.result === 'granted') armed = true;
        if (acknowledged.has(r.seq)) bySeq.set(r.seq, `access:${d.result}`);
      } else if (r.type === 'exit_request') armed = true;
      else if (r.type === 'door_unlocked') {
        if (!armed) unlocksWithoutGrant.push(r.seq);
      } else if (r.type === 'door_locked') armed = false;
    }
    const missingAcks = [...acknowledged]
      .filter(([seq, what]) => bySeq.get(seq) !== what)
      .map(([seq]) => seq);
    return {
      integrity,
      verified: v.ok,
      problem: v.ok ? null : `seq ${v.firstBadSeq}: ${v.problem}`,
      rows: v.rows,
      headSeq: v.headSeq,
      unlocksWithoutGrant,
      missingAcks,
      ms: performance.now() - t0,
    };
  } finally {
    db.close();
  }
}

export function percentiles(xs: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, p50: at(50), p99: at(99), max: s[s.length - 1] ?? Number.NaN };
}
