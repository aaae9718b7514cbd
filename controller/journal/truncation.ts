/**
 * Has this journal been cut back? The start-time check (docs/journal.md, "The start check"): the
 * controller's own signed checkpoints and snapshots say which seq the journal had reached; a head
 * behind the highest of them whose signature verifies means rows were removed. Also the check of the
 * checkpoint published on MQTT, which runs once the publisher has connected.
 *
 * What this cannot see: root who deletes the rows *and* the checkpoints and snapshots above them (and
 * the retained MQTT message) leaves nothing on the device to compare with — the witness, off the
 * device, is the defence there.
 */
import { type KeyObject, verify } from 'node:crypto';
import type { TruncationEvidence } from '../domain/records-evidence.js';
import type { SqliteDatabase } from './db.js';
import {
  type Checkpoint,
  type CheckpointRow,
  type JournalHead,
  toCheckpoint,
  verifyCheckpoint,
} from './journal.js';
import { snapshotBytes, snapshotStateSha256 } from './snapshots.js';

/** A signed statement that the journal had reached `seq` (with hash `hash`), signed at `at`. */
export interface ReachedEvidence {
  source: TruncationEvidence;
  seq: number;
  hash: string;
  at: number;
}

/** What the start check found: the head and the signed statement beyond it. */
export interface Truncation {
  head: JournalHead;
  evidence: ReachedEvidence;
  /** Checkpoints or snapshots beyond the head whose signatures do not verify (ignored). */
  unsigned: number;
}

/**
 * The highest seq above `head` that a local checkpoint or snapshot signed with the device key
 * vouches for, or null when none does. Only the rows above the head are read and checked.
 */
export function findTruncation(
  db: SqliteDatabase,
  head: JournalHead,
  publicKey: KeyObject,
): Truncation | null {
  let best: ReachedEvidence | null = null;
  let unsigned = 0;
  const cps = db
    .prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE seq > ? ORDER BY seq DESC')
    .all(head.seq)
    .map(toCheckpoint);
  for (const cp of cps) {
    if (verifyCheckpoint(cp, publicKey)) {
      best = { source: 'checkpoint', seq: cp.seq, hash: cp.hash, at: cp.at };
      break;
    }
    unsigned++;
  }
  if (hasTable(db, 'snapshots')) {
    const snaps = db
      .prepare<[number], { seq: number; hash: string; at: number; state: string; signature: string }>(
        'SELECT seq, hash, at, state, signature FROM snapshots WHERE seq > ? ORDER BY seq DESC',
      )
      .all(head.seq);
    for (const s of snaps) {
      if (snapshotSigned(s, publicKey)) {
        if (!best || s.seq > best.seq) best = { source: 'snapshot', seq: s.seq, hash: s.hash, at: s.at };
        break;
      }
      unsigned++;
    }
  }
  return best ? { head, evidence: best, unsigned } : null;
}

function snapshotSigned(
  s: { seq: number; hash: string; at: number; state: string; signature: string },
  publicKey: KeyObject,
): boolean {
  try {
    const bytes = snapshotBytes({ ...s, stateSha256: snapshotStateSha256(s.state) });
    return verify(null, Buffer.from(bytes, 'utf8'), publicKey, Buffer.from(s.signature, 'base64'));
  } catch {
    return false;
  }
}

function hasTable(db: SqliteDatabase, name: string): boolean {
  return (
    db
      .prepare<[string], { n: number }>(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
      )
      .get(name)!.n > 0
  );
}

/**
 * A checkpoint as published on MQTT (the retained `…/journal/checkpoint` payload, or a file holding
 * it), checked: its shape, its controller, and its signature with the device key. Returns the
 * checkpoint, or why it cannot be used.
 */
export function publishedCheckpoint(
  payload: unknown,
  controllerId: string,
  publicKey: KeyObject,
): { checkpoint: Checkpoint } | { problem: string } {
  if (payload === null || typeof payload !== 'object') return { problem: 'not a JSON object' };
  const p = payload as Record<string, unknown>;
  const cp = {
    seq: p.seq,
    hash: p.hash,
    at: p.at,
    controller: p.controller,
    signature: p.signature,
    keyId: p.keyId,
  } as Checkpoint;
  if (cp.controller !== controllerId)
    return {
      problem: `it is a checkpoint of controller ${JSON.stringify(cp.controller)}, not "${controllerId}"`,
    };
  if (!verifyCheckpoint(cp, publicKey))
    return {
      problem: 'its signature does not verify with the device public key (or its fields are malformed)',
    };
  return { checkpoint: cp };
}

/** How the journal stands against a published checkpoint. */
export type PublishedHeadCheck =
  /** The journal holds the checkpoint's row with its hash, or declared it lost. */
  | { kind: 'ok' }
  /** The journal's head is below the checkpoint: rows head + 1 .. cp.seq are gone. */
  | { kind: 'behind' }
  /** The journal holds another row at the checkpoint's seq: rows were removed and their seqs reused. */
  | { kind: 'diverged'; hash: string };

export function checkPublishedHead(
  db: SqliteDatabase,
  head: JournalHead,
  cp: Checkpoint,
): PublishedHeadCheck {
  if (cp.seq > head.seq) return { kind: 'behind' };
  const row = db.prepare<[number], { hash: string }>('SELECT hash FROM journal WHERE seq = ?').get(cp.seq);
  if (row) return row.hash === cp.hash ? { kind: 'ok' } : { kind: 'diverged', hash: row.hash };
  // No row at that seq below the head: declared lost by a gap row after it, or archived.
  return { kind: 'ok' };
}

/**
 * A restore whose lost range was unknown (`sekisho restore --lost-unknown`: `journal_restored` with
 * `lostThrough` null) leaves the next start one duty: read the head published on MQTT before its
 * first row, so that no seq of a lost row is used again. Returns that restore's seq while no start
 * since it has recorded a checked head (`controller_started.publishedHead.checked`), else null.
 */
export function headCheckRequired(db: SqliteDatabase): { restoredSeq: number } | null {
  const restored = db
    .prepare<[], { seq: number; bytes: string }>(
      "SELECT seq, bytes FROM journal WHERE type = 'journal_restored' ORDER BY seq DESC LIMIT 1",
    )
    .get();
  if (!restored || dataOf(restored.bytes)?.lostThrough !== null) return null;
  const starts = db
    .prepare<[number], { bytes: string }>(
      "SELECT bytes FROM journal WHERE type = 'controller_started' AND seq > ? ORDER BY seq",
    )
    .iterate(restored.seq);
  for (const s of starts) {
    const head = dataOf(s.bytes)?.publishedHead as { checked?: unknown } | undefined;
    if (head?.checked === true) return null;
  }
  return { restoredSeq: restored.seq };
}

function dataOf(bytes: string): Record<string, unknown> | undefined {
  try {
    const data = (JSON.parse(bytes) as { data?: unknown }).data;
    return data && typeof data === 'object' ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
