/**
 * Durable journal appends on the full journal: Journal.append, one row per transaction (each
 * committed with synchronous=FULL before it returns), hash chain, four indexes, the protective
 * triggers and the outbox row the runtime writes when MQTT is configured.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Journal, type JournalInput, openDatabase, recordBytes } from '../controller/journal/index.js';
import { CONTROLLER_ID, DOOR } from './lib/dataset.js';
import { now } from './lib/stats.js';

export function accessInput(i: number): JournalInput {
  return {
    type: 'access',
    at: Date.now(),
    door: DOOR,
    person: 'p_3f2a9c1d0e7b',
    data: {
      reader: i % 2 ? 'exit' : 'entry',
      direction: i % 2 ? 'out' : 'in',
      result: 'granted',
      reason: 'granted',
      badge: 'b_81c0d2e4f6a8',
      masked: '••••3D4E',
      format: 'em4100',
      personName: '山田 太郎',
      category: 'staff',
    },
  };
}

/** The length of the canonical bytes of accessInput(), for same-size bare rows. */
export function accessBytesLength(): number {
  const x = accessInput(0);
  return recordBytes(
    1,
    { at: x.at, type: x.type, door: x.door!, person: x.person!, actor: null },
    JSON.stringify(x.data),
  ).length;
}

export interface AppendFigure {
  rowsPerS: number;
  latency: number[];
  /** The limit: bare INSERTs of rows of the same size, one per durable transaction, same file system. */
  bareRowsPerS: number;
  bareLatency: number[];
  /** appendMany of 10,000 rows per transaction (what an import or the generator does). */
  batchedRowsPerS: number;
}

/**
 * `n` durable Journal.append calls on the full journal and `n` bare inserts into a fresh table in
 * the same folder, alternating in blocks so that both see the same load on the disk.
 */
export function durableAppends(
  dbFile: string,
  workDir: string,
  n: number,
  bytesLength: number,
): AppendFigure {
  const db = openDatabase(dbFile);
  const journal = new Journal(db, { controllerId: CONTROLLER_ID });
  const bareFile = join(workDir, 'bare-append.db');
  for (const f of [bareFile, `${bareFile}-wal`, `${bareFile}-shm`]) rmSync(f, { force: true });
  const bare = new Database(bareFile);
  bare.pragma('journal_mode = WAL');
  bare.pragma('synchronous = FULL');
  bare.exec(`CREATE TABLE t (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL, door TEXT,
    person TEXT, actor TEXT, bytes TEXT NOT NULL, hash TEXT NOT NULL)`);
  const ins = bare.prepare(
    'INSERT INTO t (at, type, door, person, actor, bytes, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const bytes = 'x'.repeat(bytesLength);
  const hash = 'f'.repeat(64);
  // Warm-up of both: past the first automatic checkpoint, so neither WAL file grows while measured.
  for (let i = 0; i < 1200; i++) {
    journal.append(accessInput(i));
    ins.run(Date.now(), 'access', DOOR, 'p_3f2a9c1d0e7b', null, bytes, hash);
  }
  const latency: number[] = [];
  const bareLatency: number[] = [];
  let spent = 0;
  let bareSpent = 0;
  const block = 100;
  for (let done = 0; done < n; done += block) {
    const m = Math.min(block, n - done);
    let t0 = now();
    for (let i = 0; i < m; i++) {
      const t = now();
      journal.append(accessInput(done + i));
      latency.push(now() - t);
    }
    spent += now() - t0;
    t0 = now();
    for (let i = 0; i < m; i++) {
      const t = now();
      ins.run(Date.now(), 'access', DOOR, 'p_3f2a9c1d0e7b', null, bytes, hash);
      bareLatency.push(now() - t);
    }
    bareSpent += now() - t0;
  }
  const batch = Array.from({ length: 10_000 }, (_, i) => accessInput(i));
  const t1 = now();
  journal.appendMany(batch, { outbox: false });
  const batchedRowsPerS = batch.length / ((now() - t1) / 1000);
  db.exec('DELETE FROM outbox');
  db.close();
  bare.close();
  for (const f of [bareFile, `${bareFile}-wal`, `${bareFile}-shm`]) rmSync(f, { force: true });
  return {
    rowsPerS: n / (spent / 1000),
    latency,
    bareRowsPerS: n / (bareSpent / 1000),
    bareLatency,
    batchedRowsPerS,
  };
}
