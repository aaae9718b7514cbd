/**
 * The physical limits the figures are compared with, each measured alone in the same run, on the
 * same file system and the same pseudo-terminals: a bare durable SQLite commit, one pty transfer, a
 * bare MQTT QoS 1 round trip, raw SHA-256.
 */
import { hash } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connect } from 'mqtt';
import { SerialPort } from 'serialport';
import { makePtyPair } from '../../tests/helpers/pty.js';
import { now, rng, sleep } from './stats.js';

/** Row sizes like a journal access row: the canonical bytes and the indexed columns. */
export function journalLikeRow(bytesLength: number): { bytes: string; hash: string } {
  return { bytes: 'x'.repeat(bytesLength), hash: 'f'.repeat(64) };
}

function bareDb(file: string): Database.Database {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE t (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL, door TEXT,
    person TEXT, actor TEXT, bytes TEXT NOT NULL, hash TEXT NOT NULL)`);
  return db;
}

/**
 * One bare durable commit: an INSERT of a row the size of a journal row into a table without
 * indexes or triggers, WAL and synchronous=FULL, one row per transaction. Returns ms per commit.
 */
export function bareCommits(dir: string, n: number, bytesLength: number): number[] {
  const file = join(dir, 'bare-commit.db');
  const db = bareDb(file);
  const ins = db.prepare(
    'INSERT INTO t (at, type, door, person, actor, bytes, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const row = journalLikeRow(bytesLength);
  const out: number[] = [];
  // Warm-up: past the first automatic checkpoint (1000 pages), so that the WAL file is reused from its
  // start and a commit no longer grows it — as in a controller that has run for a while.
  const WARM = 1200;
  for (let i = 0; i < n + WARM; i++) {
    const t = now();
    ins.run(Date.now(), 'access', 'machine-room', 'p_000000000000', null, row.bytes, row.hash);
    if (i >= WARM) out.push(now() - t);
  }
  db.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  return out;
}

/**
 * One pty transfer: the last byte of an RDM6300 frame written into one end of a socat pty pair,
 * until serialport (as the ReaderPort uses it) delivers it from the other end. Returns ms.
 */
export async function ptyTransfers(dir: string, n: number): Promise<number[]> {
  const pair = await makePtyPair(join(dir, 'pty-limit'));
  const port = new SerialPort({ path: pair.b, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const fd = openSync(pair.a, 'w');
  let waiting: ((t: number) => void) | null = null;
  let expectLast = false;
  port.on('data', (chunk: Buffer) => {
    if (expectLast && chunk[chunk.length - 1] === 0x03 && waiting) {
      const w = waiting;
      waiting = null;
      w(now());
    }
  });
  const frameHead = Buffer.from([0x02, ...Buffer.from('0A1B2C3D4E51', 'latin1')]);
  const out: number[] = [];
  try {
    for (let i = 0; i < n + 10; i++) {
      expectLast = false;
      writeSync(fd, frameHead);
      await sleep(1);
      expectLast = true;
      const got = new Promise<number>((resolve) => {
        waiting = resolve;
      });
      const t0 = now();
      writeSync(fd, Buffer.from([0x03]));
      const t1 = await Promise.race([got, sleep(2000).then(() => Number.NaN)]);
      if (i >= 10 && Number.isFinite(t1)) out.push(t1 - t0);
    }
  } finally {
    closeSync(fd);
    await new Promise<void>((resolve) => port.close(() => resolve()));
    await pair.stop();
  }
  return out;
}

/** A bare mqtt.js QoS 1 publish until its PUBACK, to the given broker. Returns ms. */
export async function mqttRoundTrips(url: string, n: number, payloadBytes: number): Promise<number[]> {
  const client = connect(url, { clientId: `sekisho-bench-limit-${process.pid}`, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const payload = 'x'.repeat(payloadBytes);
  const out: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const t = now();
    await client.publishAsync('sekisho-bench/limit', payload, { qos: 1 });
    if (i >= 10) out.push(now() - t);
    await sleep(1);
  }
  await client.endAsync();
  return out;
}

/**
 * Raw SHA-256 over the journal's own bytes, chained like the journal (prev hash ‖ bytes), timing only
 * the hashing: the bytes are read in pages first. Returns rows per second and the rows hashed.
 */
export function rawSha256Rate(dbFile: string): { rowsPerS: number; rows: number; mb: number } {
  const db = new Database(dbFile, { readonly: true });
  const page = db.prepare('SELECT seq, bytes FROM journal WHERE seq > ? ORDER BY seq LIMIT 5000').raw();
  let after = 0;
  let prev = '0'.repeat(64);
  let rows = 0;
  let bytes = 0;
  let spent = 0;
  for (;;) {
    const got = page.all(after) as [number, string][];
    if (got.length === 0) break;
    const t = now();
    for (const r of got) prev = hash('sha256', prev + r[1], 'hex');
    spent += now() - t;
    for (const r of got) bytes += r[1].length;
    rows += got.length;
    after = got[got.length - 1]![0];
  }
  db.close();
  return { rowsPerS: rows / (spent / 1000), rows, mb: bytes / 1e6 };
}

/**
 * The distribution of the sum of two independent delays, from their samples: percentiles of the
 * limit "one commit plus one pty transfer" (random pairs, fixed seed).
 */
export function sumOfIndependent(a: readonly number[], b: readonly number[], draws = 100_000): number[] {
  const r = rng(7);
  const out: number[] = [];
  for (let i = 0; i < draws; i++) out.push(a[Math.floor(r() * a.length)]! + b[Math.floor(r() * b.length)]!);
  return out;
}
