/**
 * The journal against a witness history (`sekisho verify --witness`, the Integrity page): the
 * history's own chain first, then its signed checkpoints as trusted checkpoints of `verifyJournal`,
 * and every witnessed (seq, hash) against the journal's row at that seq — which names the first row
 * deleted after the last checkpoint, deleted with the checkpoints above it, or edited with the
 * chain re-hashed and re-signed with the key on the disk.
 */
import type { KeyObject } from 'node:crypto';
import {
  type Checkpoint,
  publicKeyId,
  type SqliteDatabase,
  type VerifyProblemKind,
  type VerifyResult,
  verifyCheckpoint,
  verifyJournal,
} from '../journal/index.js';
import { type EventSink, type HistoryContent, HistoryError, type WitnessedEvent } from './history.js';

export type WitnessProblemKind =
  /** A row the witness received is not in the journal. */
  | 'witnessed_missing'
  /** A row the witness received has another hash in the journal. */
  | 'witnessed_altered'
  | VerifyProblemKind;

export interface WitnessCheck {
  ok: boolean;
  firstBadSeq?: number;
  kind?: WitnessProblemKind;
  /** One sentence for people, naming the first missing or altered row. */
  problem?: string;
  /** The journal walked with the history's checkpoints as trusted ones. */
  journal: VerifyResult;
  history: {
    lines: number;
    lastLineSha256: string;
    controller: string;
    topic: string;
    keyId: string;
    checkpoints: number;
    events: number;
    alarms: { line: number; alarm: string; seq: number | null; detail: string }[];
  };
  /** Witnessed events compared with a journal row (those at or below the archive base are not). */
  compared: number;
  /** Findings that are not proof of tampering. */
  notes: string[];
}

interface Miss {
  seq: number;
  event: WitnessedEvent;
  rx: number;
  journalHash?: string;
}

/**
 * Checks `db` against a history read by `load` (loadHistoryFile or loadHistoryText, bound to its
 * input). Throws HistoryError when the history fails its own check or was not kept with
 * `publicKey` — the history is then no evidence either way.
 */
export function checkAgainstWitness(
  db: SqliteDatabase,
  load: (onEvent: EventSink) => HistoryContent,
  publicKey: KeyObject,
): WitnessCheck {
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN'); // one snapshot for the comparison and the walk
  try {
    return run(db, load, publicKey);
  } finally {
    if (own) db.exec('COMMIT');
  }
}

function run(
  db: SqliteDatabase,
  load: (onEvent: EventSink) => HistoryContent,
  publicKey: KeyObject,
): WitnessCheck {
  let archived = 0;
  try {
    archived = db.prepare<[], { s: number | null }>('SELECT MAX(seq) AS s FROM archive_bases').get()?.s ?? 0;
  } catch {
    archived = 0; // a schema from before archiving
  }
  const rowHash = db.prepare<[number], { hash: unknown }>('SELECT hash FROM journal WHERE seq = ?');
  let compared = 0;
  let firstMissing: Miss | undefined;
  let lastMissing = 0;
  let missing = 0;
  let firstAltered: Miss | undefined;
  let altered = 0;
  const onEvent: EventSink = (event, line) => {
    if (event.seq <= archived) return;
    compared++;
    const row = rowHash.get(event.seq);
    if (!row) {
      missing++;
      if (!firstMissing || event.seq < firstMissing.seq)
        firstMissing = { seq: event.seq, event, rx: line.rx };
      lastMissing = Math.max(lastMissing, event.seq);
    } else if (row.hash !== event.hash) {
      altered++;
      if (!firstAltered || event.seq < firstAltered.seq)
        firstAltered = { seq: event.seq, event, rx: line.rx, journalHash: String(row.hash) };
    }
  };
  const h = load(onEvent);
  const keyId = publicKeyId(publicKey);
  if (h.header.keyId !== keyId)
    throw new HistoryError(
      `the history was kept with public key ${h.header.keyId}, but the key given is ${keyId}: give the key the witness pinned`,
    );
  const trusted: Checkpoint[] = [];
  for (const list of h.checkpoints.values())
    for (const cp of list) {
      if (!verifyCheckpoint(cp, publicKey))
        throw new HistoryError(
          `the history's checkpoint for seq ${cp.seq} does not verify with the given key: the history was forged`,
        );
      if (cp.controller === h.header.controller) trusted.push(cp);
    }
  const journal = verifyJournal(db, { publicKey, trustedCheckpoints: trusted });
  const result: WitnessCheck = {
    ok: true,
    journal,
    history: {
      lines: h.lines,
      lastLineSha256: h.lastHash,
      controller: h.header.controller,
      topic: h.header.topic,
      keyId: h.header.keyId,
      checkpoints: trusted.length,
      events: h.events,
      alarms: h.alarms.map((a) => ({ line: a.n, alarm: a.alarm, seq: a.seq, detail: a.detail })),
    },
    compared,
    notes: [],
  };
  if (archived > 0)
    result.notes.push(
      `rows 1 to ${archived} are archived: the witnessed events among them are not compared here (check the archives with --archives DIR)`,
    );
  if (h.alarms.length > 0)
    result.notes.push(
      `the witness raised ${h.alarms.length} alarm(s); the first (history line ${h.alarms[0]!.n}): ${h.alarms[0]!.alarm}: ${h.alarms[0]!.detail}`,
    );
  for (const row of db
    .prepare<[], { seq: number; type: string }>(
      "SELECT seq, type FROM journal WHERE type IN ('journal_restored', 'journal_truncated') ORDER BY seq",
    )
    .all())
    result.notes.push(`the journal itself records ${row.type} at seq ${row.seq}`);

  // The witness's own comparison names rows exactly; the walk's finding comes next.
  const first = [firstMissing, firstAltered]
    .filter((m): m is Miss => m !== undefined)
    .sort((a, b) => a.seq - b.seq)[0];
  if (first) {
    result.ok = false;
    result.firstBadSeq = first.seq;
    const got = `received by the witness at ${iso(first.rx)}`;
    if (first === firstMissing) {
      result.kind = 'witnessed_missing';
      const range =
        lastMissing > first.seq
          ? `rows ${first.seq} to ${lastMissing} (${missing} witnessed) are missing`
          : `row ${first.seq} is missing`;
      result.problem =
        `${range} from the journal: row ${first.seq} (${first.event.type}, hash ${first.event.hash.slice(0, 16)}…) was ${got}; ` +
        'the rows were deleted after the witness saw them';
    } else {
      result.kind = 'witnessed_altered';
      result.problem =
        `row ${first.seq} (${first.event.type}) differs from the row ${got}: its hash is now ` +
        `${first.journalHash?.slice(0, 16)}…, the witness saw ${first.event.hash.slice(0, 16)}…` +
        (altered > 1 ? ` (${altered} witnessed rows differ)` : '') +
        ': the row was changed and the chain re-hashed';
    }
    if (!journal.ok)
      result.notes.push(
        `the walk with the witness's checkpoints: seq ${journal.firstBadSeq}: ${journal.problem}`,
      );
    return result;
  }
  if (!journal.ok) {
    result.ok = false;
    result.firstBadSeq = journal.firstBadSeq;
    result.kind = journal.kind;
    result.problem = journal.problem;
  }
  return result;
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}
