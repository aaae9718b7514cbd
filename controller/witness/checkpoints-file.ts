/**
 * A file of checkpoints kept off the device, as JSON Lines — each line a checkpoint exactly as
 * published on the retained MQTT topic `…/journal/checkpoint` (CheckpointPayload), or the plain
 * `{seq, hash, at, controller, signature, keyId}` of the checkpoints table and the evidence export.
 * Read by `sekisho verify --checkpoints FILE` and by the Integrity page's upload. Only the shape and
 * the controller are checked here; signatures and hashes are verifyJournal's.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { z } from 'zod';
import {
  type Checkpoint,
  type SqliteDatabase,
  type VerifyProblemKind,
  type VerifyResult,
  verifyCheckpoint,
  verifyJournal,
} from '../journal/index.js';
import { CheckpointPayload } from '../mqtt/payloads.js';

const Published = CheckpointPayload.strict();
const Plain = CheckpointPayload.omit({ v: true, time: true }).strict();

/** A line that is not a checkpoint of this controller, or no checkpoint at all; `where` prefixes it. */
export class CheckpointsFileError extends Error {}

export interface CheckpointLines {
  checkpoints: Checkpoint[];
  /** The line each checkpoint came from (1-based), for naming it in a finding. */
  lineOf: Map<Checkpoint, number>;
  lines: number;
}

/** Parses the text; `label` names the file in messages (e.g. `--checkpoints FILE`). */
export function parseCheckpointLines(text: string, controllerId: string, label: string): CheckpointLines {
  const checkpoints: Checkpoint[] = [];
  const lineOf = new Map<Checkpoint, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${label} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CheckpointsFileError(`${where}: not JSON (expected one checkpoint object per line)`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new CheckpointsFileError(
        `${where}: expected a checkpoint object {seq, hash, at, controller, signature, keyId}`,
      );
    const schema: z.ZodType<Omit<CheckpointPayload, 'v' | 'time'>> = 'v' in value ? Published : Plain;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      throw new CheckpointsFileError(`${where}: ${path}${issue.message}`);
    }
    const { seq, hash, at, controller, signature, keyId } = parsed.data;
    if (controller !== controllerId)
      throw new CheckpointsFileError(
        `${where}: a checkpoint of controller ${JSON.stringify(controller)}, but this journal is controller ${JSON.stringify(controllerId)}'s`,
      );
    const cp: Checkpoint = { seq, hash, at, controller, signature, keyId };
    checkpoints.push(cp);
    lineOf.set(cp, i + 1);
  }
  if (checkpoints.length === 0) throw new CheckpointsFileError(`${label} holds no checkpoint`);
  return { checkpoints, lineOf, lines: lines.filter((l) => l.trim() !== '').length };
}

/**
 * What an upload is: a witness history starts with its `{"kind":"history",…}` line; anything else
 * is taken for a checkpoints file.
 */
export function uploadFormat(text: string): 'witness' | 'checkpoints' {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (!first) return 'checkpoints';
  try {
    const v = JSON.parse(first) as { kind?: unknown };
    return v && typeof v === 'object' && v.kind === 'history' ? 'witness' : 'checkpoints';
  } catch {
    return 'checkpoints';
  }
}

/** The journal against an uploaded checkpoints file (the Integrity page). */
export interface CheckpointsCheck {
  ok: boolean;
  firstBadSeq?: number;
  kind?: VerifyProblemKind;
  problem?: string;
  /** The line of the file whose checkpoint the finding is about, if any. */
  line?: number;
  journal: VerifyResult;
  file: { lines: number; checkpoints: number; sha256: string; highestSeq: number };
}

/**
 * Walks `db` with the file's checkpoints as trusted ones, after checking that each is a checkpoint
 * of this controller signed with the pinned `publicKey`. A file that fails that is refused: it is
 * no evidence either way.
 */
export function checkAgainstCheckpoints(
  db: SqliteDatabase,
  text: string,
  controllerId: string,
  publicKey: KeyObject,
): { check: CheckpointsCheck } | { refused: string } {
  let parsed: CheckpointLines;
  try {
    parsed = parseCheckpointLines(text, controllerId, 'the checkpoints file');
  } catch (err) {
    if (err instanceof CheckpointsFileError) return { refused: err.message };
    throw err;
  }
  for (const cp of parsed.checkpoints)
    if (!verifyCheckpoint(cp, publicKey))
      return {
        refused: `the checkpoints file line ${parsed.lineOf.get(cp)}: the checkpoint for seq ${cp.seq} does not verify with the pinned public key (the file was altered, or the key is not the device's)`,
      };
  const journal = verifyJournal(db, { publicKey, trustedCheckpoints: parsed.checkpoints });
  const named = parsed.checkpoints.find((c) => c.seq === (journal.checkpointSeq ?? journal.firstBadSeq));
  const check: CheckpointsCheck = {
    ok: journal.ok,
    journal,
    file: {
      lines: parsed.lines,
      checkpoints: parsed.checkpoints.length,
      sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
      highestSeq: Math.max(...parsed.checkpoints.map((c) => c.seq)),
    },
  };
  if (!journal.ok) {
    if (journal.firstBadSeq !== undefined) check.firstBadSeq = journal.firstBadSeq;
    if (journal.kind !== undefined) check.kind = journal.kind;
    if (journal.problem !== undefined) check.problem = journal.problem;
    if (named && !journal.ok) check.line = parsed.lineOf.get(named);
  }
  return { check };
}
