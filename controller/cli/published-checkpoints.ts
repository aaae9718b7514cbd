/**
 * `sekisho verify --checkpoints FILE`: checkpoints kept off the device, as JSON Lines — each line a
 * checkpoint exactly as published on the retained MQTT topic `…/journal/checkpoint`
 * (CheckpointPayload), or the plain `{seq, hash, at, controller, signature, keyId}` of the
 * checkpoints table and the evidence export. A bad line is a usage error naming its line number.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { Checkpoint } from '../journal/index.js';
import { CheckpointPayload } from '../mqtt/index.js';
import { UsageError } from './common.js';

const Published = CheckpointPayload.strict();
const Plain = CheckpointPayload.omit({ v: true, time: true }).strict();

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
  const checkpoints: Checkpoint[] = [];
  const lineOf = new Map<Checkpoint, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `--checkpoints ${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UsageError(`${where}: not JSON (expected one checkpoint object per line)`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new UsageError(
        `${where}: expected a checkpoint object {seq, hash, at, controller, signature, keyId}`,
      );
    const schema: z.ZodType<Omit<CheckpointPayload, 'v' | 'time'>> = 'v' in value ? Published : Plain;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      throw new UsageError(`${where}: ${path}${issue.message}`);
    }
    const { seq, hash, at, controller, signature, keyId } = parsed.data;
    if (controller !== controllerId)
      throw new UsageError(
        `${where}: a checkpoint of controller ${JSON.stringify(controller)}, but this journal is controller ${JSON.stringify(controllerId)}'s`,
      );
    const cp: Checkpoint = { seq, hash, at, controller, signature, keyId };
    checkpoints.push(cp);
    lineOf.set(cp, i + 1);
  }
  if (checkpoints.length === 0) throw new UsageError(`--checkpoints: ${file} holds no checkpoint`);
  return { file, checkpoints, lineOf };
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
