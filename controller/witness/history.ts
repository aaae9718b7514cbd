/**
 * The witness's history file (`sekisho-witness/1`): JSON Lines, one record per line, appended only.
 * Each line carries its number (`n`, from 1) and `prev`, the SHA-256 (hex) of the previous line's
 * UTF-8 bytes without its newline (64 zeros on line 1), so an edit, insertion or removal inside the
 * file breaks the chain at the first line after it. Line 1 is the header (`kind: "history"`).
 *
 * Read by the witness at its start (to refuse a broken history and to rebuild what it has seen) and
 * by `sekisho verify --witness` and the Integrity page (to use what it saw). docs/journal.md, "The
 * witness", describes the format field by field.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { FEED_ALARMS } from '../journal/feed-verify.js';
import type { Checkpoint } from '../journal/index.js';

export const HISTORY_FORMAT = 'sekisho-witness/1';
export const ZERO_HASH = '0'.repeat(64);

/** The witness's own alarms (docs/journal.md, "The witness"): the off-device verifier's. */
export const WITNESS_ALARMS = FEED_ALARMS;
export type WitnessAlarm = (typeof WITNESS_ALARMS)[number];

export interface HistoryHeader {
  kind: 'history';
  format: string;
  controller: string;
  /** The base topic watched, e.g. `sekisho/mr-door-1`. */
  topic: string;
  /** Id of the pinned public key (first 16 hex digits of SHA-256 of its SPKI DER). */
  keyId: string;
}

export interface WitnessedEvent {
  seq: number;
  hash: string;
  prevHash: string;
  /** The event's own `at` (the controller's clock). */
  at: number;
  type: string;
}

export type HistoryEntry =
  | HistoryHeader
  | { kind: 'started'; broker: string; clientId: string; version: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'checkpoint'; checkpoint: Checkpoint }
  | ({ kind: 'event' } & WitnessedEvent)
  | {
      kind: 'alarm';
      alarm: WitnessAlarm;
      seq: number | null;
      detail: string;
      evidence: Record<string, unknown>;
    };

/** A line as read: the entry plus its line number and the time the witness received or wrote it. */
export type HistoryLine = HistoryEntry & { n: number; rx: number };

export function lineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

/** The text of line `n` (without newline): the fields `n`, `prev`, `rx` first, then the entry's. */
export function formatLine(n: number, prev: string, rx: number, entry: HistoryEntry): string {
  return JSON.stringify({ n, prev, rx, ...entry });
}

export class HistoryError extends Error {
  override name = 'HistoryError';
  constructor(
    message: string,
    /** The first line at fault (1-based), when one is. */
    readonly line?: number,
  ) {
    super(message);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

/** Checks one parsed line's shape; returns why it is not a history entry, or null. */
function shapeProblem(o: Record<string, unknown>): string | null {
  if (!isInt(o.rx) || o.rx < 0) return 'rx is not a time in milliseconds';
  switch (o.kind) {
    case 'history':
      if (o.format !== HISTORY_FORMAT) return `format is not ${HISTORY_FORMAT}`;
      return isStr(o.controller) && isStr(o.topic) && isStr(o.keyId) ? null : 'the header lacks a field';
    case 'started':
      return isStr(o.broker) && isStr(o.clientId) && isStr(o.version) ? null : 'a started line lacks a field';
    case 'stopped':
      return isStr(o.reason) ? null : 'a stopped line lacks its reason';
    case 'checkpoint': {
      const c = o.checkpoint as Record<string, unknown> | undefined;
      if (c === null || typeof c !== 'object') return 'a checkpoint line lacks its checkpoint';
      return isInt(c.seq) &&
        c.seq > 0 &&
        isStr(c.hash) &&
        HEX64.test(c.hash) &&
        isInt(c.at) &&
        isStr(c.controller) &&
        isStr(c.signature) &&
        isStr(c.keyId)
        ? null
        : 'a checkpoint line has a malformed checkpoint';
    }
    case 'event':
      return isInt(o.seq) &&
        o.seq > 0 &&
        isStr(o.hash) &&
        HEX64.test(o.hash) &&
        isStr(o.prevHash) &&
        HEX64.test(o.prevHash) &&
        isInt(o.at) &&
        isStr(o.type)
        ? null
        : 'an event line has a malformed field';
    case 'alarm':
      return (WITNESS_ALARMS as readonly unknown[]).includes(o.alarm) &&
        isStr(o.detail) &&
        (o.seq === null || isInt(o.seq)) &&
        o.evidence !== null &&
        typeof o.evidence === 'object'
        ? null
        : 'an alarm line has a malformed field';
    default:
      return `unknown kind ${JSON.stringify(o.kind)}`;
  }
}

/**
 * The lines of a history file, checked one by one as they are read (chunks of 1 MiB: a history of
 * years is never held whole). Throws HistoryError naming the first line at fault. `onLine` gets
 * each checked line; the result is the line count and the hash of the last line.
 */
export function readHistoryFile(
  file: string,
  onLine: (line: HistoryLine) => void,
): { lines: number; lastHash: string; header: HistoryHeader } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new HistoryError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const checker = historyChecker(onLine);
    const buf = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      let chunk = Buffer.concat([carry, buf.subarray(0, got)]);
      let nl = chunk.indexOf(10);
      while (nl >= 0) {
        checker.line(chunk.subarray(0, nl).toString('utf8'));
        chunk = chunk.subarray(nl + 1);
        nl = chunk.indexOf(10);
      }
      carry = Buffer.from(chunk);
    }
    return checker.end(carry.length > 0 ? carry.toString('utf8') : null);
  } finally {
    closeSync(fd);
  }
}

/** The same checks over a history held in memory (an upload). */
export function readHistoryText(
  text: string,
  onLine: (line: HistoryLine) => void,
): { lines: number; lastHash: string; header: HistoryHeader } {
  const checker = historyChecker(onLine);
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    checker.line(text.slice(start, nl));
    start = nl + 1;
  }
  return checker.end(start < text.length ? text.slice(start) : null);
}

function historyChecker(onLine: (line: HistoryLine) => void) {
  let n = 0;
  let prev = ZERO_HASH;
  let header: HistoryHeader | null = null;
  return {
    line(text: string): void {
      n++;
      let o: Record<string, unknown>;
      try {
        const v: unknown = JSON.parse(text);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        o = v as Record<string, unknown>;
      } catch {
        throw new HistoryError(`line ${n} is not a JSON object: the history was damaged or edited`, n);
      }
      if (o.n !== n)
        throw new HistoryError(
          `line ${n} says it is line ${JSON.stringify(o.n)}: lines were removed, inserted or reordered`,
          n,
        );
      if (o.prev !== prev)
        throw new HistoryError(
          `line ${n} does not chain from line ${n - 1} (its prev is not the SHA-256 of the line before): ` +
            `line ${n - 1} or an earlier line was edited, or lines were removed`,
          n,
        );
      const problem = shapeProblem(o);
      if (problem) throw new HistoryError(`line ${n}: ${problem}`, n);
      if (n === 1 && o.kind !== 'history')
        throw new HistoryError('line 1 is not the header of a witness history (sekisho-witness/1)', 1);
      if (n > 1 && o.kind === 'history') throw new HistoryError(`line ${n} is a second header`, n);
      if (n === 1) header = o as unknown as HistoryHeader;
      prev = lineHash(text);
      const { prev: _p, ...entry } = o;
      onLine(entry as unknown as HistoryLine);
    },
    end(tail: string | null) {
      if (tail !== null)
        throw new HistoryError(
          `line ${n + 1} is incomplete (no newline at the end of the file): the witness stopped while writing ` +
            'it (a power cut) or the file was cut. Keep a copy, then remove that partial last line ' +
            `(e.g. head -n ${n} FILE > FILE.fixed) and check again`,
          n + 1,
        );
      if (!header) throw new HistoryError('the file is empty: not a witness history');
      return { lines: n, lastHash: prev, header };
    },
  };
}

/**
 * What a history says, gathered: the signed checkpoints by seq (more than one for a seq only after an
 * equivocation, which has an alarm line of its own), the alarms, and how many events it holds. The
 * events themselves are handed to `onEvent` as they are read, never all kept: a history of years
 * holds millions.
 */
export interface HistoryContent {
  header: HistoryHeader;
  lines: number;
  lastHash: string;
  checkpoints: Map<number, Checkpoint[]>;
  events: number;
  alarms: (Extract<HistoryEntry, { kind: 'alarm' }> & { n: number; rx: number })[];
}

export type EventSink = (event: WitnessedEvent, line: { n: number; rx: number }) => void;

function collector(onEvent?: EventSink) {
  const content = {
    checkpoints: new Map<number, Checkpoint[]>(),
    events: 0,
    alarms: [] as HistoryContent['alarms'],
  };
  const onLine = (l: HistoryLine) => {
    if (l.kind === 'checkpoint') {
      const list = content.checkpoints.get(l.checkpoint.seq);
      if (list) list.push(l.checkpoint);
      else content.checkpoints.set(l.checkpoint.seq, [l.checkpoint]);
    } else if (l.kind === 'event') {
      content.events++;
      onEvent?.({ seq: l.seq, hash: l.hash, prevHash: l.prevHash, at: l.at, type: l.type }, l);
    } else if (l.kind === 'alarm') content.alarms.push(l);
  };
  return { content, onLine };
}

/** Reads and checks a history file and gathers what it says (for `sekisho verify --witness`). */
export function loadHistoryFile(file: string, onEvent?: EventSink): HistoryContent {
  const c = collector(onEvent);
  const r = readHistoryFile(file, c.onLine);
  return { ...r, ...c.content };
}

/** The same for a history held in memory (the Integrity page's upload). */
export function loadHistoryText(text: string, onEvent?: EventSink): HistoryContent {
  const c = collector(onEvent);
  const r = readHistoryText(text, c.onLine);
  return { ...r, ...c.content };
}
