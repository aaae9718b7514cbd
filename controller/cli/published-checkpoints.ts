/**
 * `sekisho verify --checkpoints FILE`: checkpoints kept off the device, as JSON Lines — each line a
 * checkpoint exactly as published on the retained MQTT topic `…/journal/checkpoint`
 * (CheckpointPayload), or the plain `{seq, hash, at, controller, signature, keyId}` of the
 * checkpoints table and the evidence export. A bad line is a usage error naming its line number.
 */
import { readFileSync } from 'node:fs';
import type { Checkpoint } from '../journal/index.js';
import { CheckpointsFileError, parseCheckpointLines } from '../witness/checkpoints-file.js';
import { UsageError } from './common.js';

export interface PublishedCheckpoints {
  file: string;
  checkpoints: Checkpoint[];
  /** The line each checkpoint came from (1-based), for naming it in a finding. */
  lineOf: Map<Checkpoint, number>;
}

/** Reads and checks the file's shape; signatures and hashes are checked by verifyJournal. */
export function readPublishedCheckpoints(file: string, controllerId: string): PublishedCheckpoints {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--checkpoints: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const { checkpoints, lineOf } = parseCheckpointLines(text, controllerId, `--checkpoints ${file}`);
    return { file, checkpoints, lineOf };
  } catch (err) {
    if (err instanceof CheckpointsFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** The line of the published checkpoint at `seq`, if the file has one (the first such line). */
export function publishedLine(
  p: PublishedCheckpoints | undefined,
  seq: number | undefined,
): number | undefined {
  if (!p || seq === undefined) return undefined;
  const cp = p.checkpoints.find((c) => c.seq === seq);
  return cp ? p.lineOf.get(cp) : undefined;
}
