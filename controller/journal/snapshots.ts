/**
 * Signed snapshots of the derived state: a cache that lets a start fold only the journal rows
 * after the latest good snapshot instead of replaying the whole journal. Never evidence: a
 * snapshot is only used when its Ed25519 signature verifies and its `hash` equals the stored hash
 * of the journal row at its `seq`, so it is tied to the chain. See docs/journal.md, "Snapshots".
 */
import { hash as digest, type KeyObject, sign, verify } from 'node:crypto';
import type { SqliteDatabase } from './db.js';

/** How many snapshots are kept; older ones are deleted when a new one is saved. */
export const SNAPSHOTS_KEPT = 3;

const HEX64 = /^[0-9a-f]{64}$/;

export interface SnapshotInput {
  /** The journal seq the state corresponds to (the state's lastSeq). */
  seq: number;
  /** The stored hash of the journal row at `seq`. */
  hash: string;
  /** When the snapshot was taken, UTC ms. */
  at: number;
  /** The derived state, as JSON (snapshotDerivedState, stringified). */
  state: string;
}

export interface StoredSnapshot extends SnapshotInput {
  /** Ed25519 signature over snapshotBytes(), base64. */
  signature: string;
  keyId: string;
}

export interface SnapshotRejection {
  seq: number;
  reason: string;
}

export interface SnapshotLookup {
  /** The newest snapshot that passed every check, if any. */
  snapshot: StoredSnapshot | undefined;
  /** The newer snapshots that were skipped, newest first, each with why. */
  rejected: SnapshotRejection[];
}

/** SHA-256 of the state JSON (UTF-8), hex. */
export function snapshotStateSha256(state: string): string {
  return digest('sha256', Buffer.from(state, 'utf8'), 'hex');
}

/** The canonical bytes a snapshot signature covers. */
export function snapshotBytes(s: { seq: number; hash: string; at: number; stateSha256: string }): string {
  return (
    `{"seq":${s.seq},"hash":${JSON.stringify(s.hash)},"at":${s.at},` +
    `"stateSha256":${JSON.stringify(s.stateSha256)}}`
  );
}

/**
 * Signs and stores a snapshot (replacing one at the same seq), then deletes all but the newest
 * SNAPSHOTS_KEPT. Does not check that `hash` is the chain's: loadLatestSnapshot does.
 */
export function saveSnapshot(
  db: SqliteDatabase,
  input: SnapshotInput,
  signingKey: KeyObject,
  keyId: string,
): StoredSnapshot {
  const { seq, hash, at, state } = input;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('snapshot seq must be a positive integer');
  if (typeof hash !== 'string' || !HEX64.test(hash))
    throw new RangeError('snapshot hash must be 64 hex digits');
  if (!Number.isSafeInteger(at) || at < 0) throw new RangeError('snapshot at must be UTC milliseconds');
  if (typeof state !== 'string') throw new TypeError('snapshot state must be a string');
  const bytes = snapshotBytes({ seq, hash, at, stateSha256: snapshotStateSha256(state) });
  const signature = sign(null, Buffer.from(bytes, 'utf8'), signingKey).toString('base64');
  db.transaction(() => {
    db.prepare(
      'INSERT OR REPLACE INTO snapshots (seq, hash, at, state, signature, key_id) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(seq, hash, at, state, signature, keyId);
    db.prepare(
      'DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)',
    ).run(SNAPSHOTS_KEPT);
  }).immediate();
  return { seq, hash, at, state, signature, keyId };
}

type SnapshotRow = {
  seq: number;
  hash: string;
  at: number;
  state: string;
  signature: string;
  key_id: string;
};

/** Why a stored snapshot may not be used, or undefined if it may. */
export function checkSnapshot(
  db: SqliteDatabase,
  s: StoredSnapshot,
  publicKey: KeyObject | string,
): string | undefined {
  if (!Number.isSafeInteger(s.seq) || s.seq < 1 || !Number.isSafeInteger(s.at) || !HEX64.test(s.hash)) {
    return 'malformed fields';
  }
  let ok = false;
  try {
    const bytes = snapshotBytes({ ...s, stateSha256: snapshotStateSha256(s.state) });
    ok = verify(null, Buffer.from(bytes, 'utf8'), publicKey, Buffer.from(s.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) return 'signature does not verify with the device key (fields or state altered, or another key)';
  const row = db.prepare<[number], { hash: string }>('SELECT hash FROM journal WHERE seq = ?').get(s.seq);
  if (!row) return `no journal row at seq ${s.seq}`;
  if (row.hash !== s.hash) return `hash does not match the journal row at seq ${s.seq}`;
  return undefined;
}

/**
 * The newest snapshot whose signature verifies and whose hash equals the journal row's at its seq,
 * falling back to older ones; with the reasons newer ones were rejected.
 */
export function loadLatestSnapshot(db: SqliteDatabase, publicKey: KeyObject | string): SnapshotLookup {
  const rejected: SnapshotRejection[] = [];
  const table = db
    .prepare<[], { n: number }>(
      "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'",
    )
    .get();
  if (!table || table.n === 0) return { snapshot: undefined, rejected };
  const rows = db.prepare<[], SnapshotRow>('SELECT * FROM snapshots ORDER BY seq DESC').all();
  for (const row of rows) {
    const s: StoredSnapshot = {
      seq: row.seq,
      hash: row.hash,
      at: row.at,
      state: row.state,
      signature: row.signature,
      keyId: row.key_id,
    };
    const reason = checkSnapshot(db, s, publicKey);
    if (reason === undefined) return { snapshot: s, rejected };
    rejected.push({ seq: s.seq, reason });
  }
  return { snapshot: undefined, rejected };
}
