/**
 * The off-device verifier of a controller's published journal (docs/journal.md, "The feed as
 * evidence"): given the controller's pinned public key, the rows of its `…/events` feed and its
 * signed checkpoints, in any order and with re-deliveries, it recomputes every row's hash from its
 * bytes (claimed hashes are not trusted), follows the chain, checks every checkpoint's signature and
 * hash, and reports "verified up to seq N / hash H", the gaps, forks (one seq, other bytes),
 * equivocations (two signed hashes for one seq) and bad signatures. `sekisho witness` runs on it; the
 * collector will too. No I/O: the caller records and announces the findings.
 */
import type { KeyObject } from 'node:crypto';
import { GAP_RECORD_TYPES } from '../domain/records-evidence.js';
import { committedPaths } from './commitments.js';
import {
  type Checkpoint,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  RECORD_VERSIONS,
  recordBytes,
  verifyCheckpoint,
} from './journal.js';

/** What the verifier raises (the witness's alarms are these). */
export const FEED_ALARMS = [
  /** A checkpoint whose signature does not verify with the pinned key: forged with broker credentials. */
  'bad_signature',
  /** Two validly signed checkpoints for one seq with different hashes, or a checkpoint against a witnessed event. */
  'equivocation',
  /** An event that does not extend what was witnessed: another hash at a known seq, or a prevHash that differs. */
  'fork',
  /** A checkpoint below the last one seen whose hash the history does not know: the head went back. */
  'rollback',
  /** A validly signed checkpoint naming another controller. */
  'wrong_controller',
  /**
   * A published row whose bytes do not give its hash (SHA-256(prevHash ‖ bytes)), are not a canonical
   * record of its seq, hold a secret in clear, or are missing: not evidence, never recorded.
   */
  'bad_row',
] as const;
export type FeedAlarm = (typeof FEED_ALARMS)[number];

export interface FeedFinding {
  alarm: FeedAlarm;
  seq: number | null;
  detail: string;
  evidence: Record<string, unknown>;
}

export interface FeedObservation {
  /** Keep the message as evidence (false: a re-delivery, or not evidence of the controller). */
  record: boolean;
  findings: FeedFinding[];
}

/** A row as published on `…/events`: the evidence fields (others are ignored). */
export interface PublishedRow {
  seq: number;
  hash: string;
  prevHash: string;
  /** The hashed bytes; null when withheld (a format v1 row holding a secret). */
  bytes?: string | null | undefined;
  withheld?: string | null | undefined;
  /** Convenience fields, used only when the bytes are withheld. */
  type?: string | undefined;
  at?: number | undefined;
}

/** The seq, hashes, type and time of a row, taken from its recomputed bytes. */
export interface CheckedRow {
  seq: number;
  hash: string;
  prevHash: string;
  type: string;
  at: number;
  /** The bytes were withheld: the hash is the controller's claim, attested only by what chains from it. */
  withheld: boolean;
  /** The format of the bytes (1 for a withheld row: only v1 rows are withheld). */
  version?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const GAP_TYPES = new Set<string>(GAP_RECORD_TYPES);

/**
 * Recomputes one published row: SHA-256(prevHash ‖ bytes) must be its hash, and its bytes a
 * canonical record (format v1 or v2) of its seq, with no secret in clear in a v2 row. Returns the
 * row from its bytes, or why it is not evidence.
 */
export function checkPublishedRow(
  row: PublishedRow,
): { ok: true; row: CheckedRow } | { ok: false; problem: string } {
  if (!Number.isSafeInteger(row.seq) || row.seq < 1)
    return { ok: false, problem: 'its seq is not a positive integer' };
  if (
    typeof row.hash !== 'string' ||
    !HEX64.test(row.hash) ||
    typeof row.prevHash !== 'string' ||
    !HEX64.test(row.prevHash)
  )
    return { ok: false, problem: 'its hash or prevHash is not 64 hex digits' };
  if (row.bytes === null || row.bytes === undefined) {
    if (row.bytes === null && row.withheld === 'v1_secret')
      return {
        ok: true,
        row: {
          seq: row.seq,
          hash: row.hash,
          prevHash: row.prevHash,
          type: typeof row.type === 'string' ? row.type : '',
          at: Number.isSafeInteger(row.at) ? (row.at as number) : 0,
          withheld: true,
          version: 1,
        },
      };
    return { ok: false, problem: 'it carries no bytes, so its hash cannot be recomputed' };
  }
  if (typeof row.bytes !== 'string') return { ok: false, problem: 'its bytes are not a string' };
  if (chainHash(row.prevHash, row.bytes) !== row.hash)
    return {
      ok: false,
      problem: 'SHA-256(prevHash ‖ bytes) is not its hash: the bytes or the hash were altered',
    };
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(row.bytes) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: 'its bytes are not JSON' };
  }
  if (rec === null || typeof rec !== 'object' || !RECORD_VERSIONS.includes(rec.v as number))
    return { ok: false, problem: 'its bytes are not a journal record of a known format' };
  if (rec.seq !== row.seq)
    return { ok: false, problem: `its bytes are the record of seq ${String(rec.seq)}` };
  let canonical: string | undefined;
  try {
    canonical = recordBytes(
      row.seq,
      rec as Parameters<typeof recordBytes>[1],
      canonicalJson(rec.data),
      rec.v as number,
    );
  } catch {
    canonical = undefined;
  }
  if (canonical !== row.bytes || typeof rec.type !== 'string' || !Number.isSafeInteger(rec.at))
    return { ok: false, problem: 'its bytes are not a record in canonical form' };
  if (rec.v === 2) {
    const clear = committedPaths(rec.data).clear;
    if (clear.length > 0)
      return { ok: false, problem: `its bytes hold a secret in clear at ${clear.join(', ')}` };
  }
  return {
    ok: true,
    row: {
      seq: row.seq,
      hash: row.hash,
      prevHash: row.prevHash,
      type: rec.type,
      at: rec.at as number,
      withheld: false,
      version: rec.v as number,
    },
  };
}

const BLOCK = 4096;

/**
 * seq → (hash, prevHash) of witnessed rows, 64 bytes a seq in blocks of 4,096 seqs: a million rows
 * take about 65 MB, not the several hundred a Map of strings would.
 */
export class SeenEvents {
  readonly #blocks = new Map<number, { hashes: Buffer; present: Uint8Array }>();
  #count = 0;
  #max = 0;

  get size(): number {
    return this.#count;
  }

  /** The highest seq held (0: none). */
  get maxSeq(): number {
    return this.#max;
  }

  has(seq: number): boolean {
    const b = this.#blocks.get(Math.floor(seq / BLOCK));
    return b !== undefined && b.present[seq % BLOCK] === 1;
  }

  get(seq: number): { hash: string; prevHash: string } | undefined {
    const b = this.#blocks.get(Math.floor(seq / BLOCK));
    const i = seq % BLOCK;
    if (!b || b.present[i] === 0) return undefined;
    return {
      hash: b.hashes.toString('hex', i * 64, i * 64 + 32),
      prevHash: b.hashes.toString('hex', i * 64 + 32, i * 64 + 64),
    };
  }

  set(seq: number, hash: string, prevHash: string): void {
    const k = Math.floor(seq / BLOCK);
    let b = this.#blocks.get(k);
    if (!b) {
      b = { hashes: Buffer.alloc(BLOCK * 64), present: new Uint8Array(BLOCK) };
      this.#blocks.set(k, b);
    }
    const i = seq % BLOCK;
    if (b.present[i] === 0) this.#count++;
    if (seq > this.#max) this.#max = seq;
    b.hashes.write(hash, i * 64, 32, 'hex');
    b.hashes.write(prevHash, i * 64 + 32, 32, 'hex');
    b.present[i] = 1;
  }
}

export interface FeedHead {
  seq: number;
  hash: string;
}

export interface FeedReport {
  /** The chain recomputed without a break from the base (genesis: seq 0): "verified up to". */
  verified: FeedHead;
  /** The highest validly signed checkpoint whose hash the verified chain reaches (null: none yet). */
  signed: FeedHead | null;
  /** Rows held, and the highest seq seen. */
  rows: number;
  maxSeq: number;
  /** Seqs above the verified head not received (and not declared lost by a gap row), as ranges. */
  gaps: { from: number; to: number }[];
  /** Rows whose bytes were withheld (format v1 rows holding a secret), by seq. */
  withheld: number[];
  /** Seqs at which another row than the one held was published. */
  forks: number[];
  /** Findings by alarm, since the start. */
  alarms: Partial<Record<FeedAlarm, number>>;
}

const cpEvidence = (cp: Checkpoint) => ({
  seq: cp.seq,
  hash: cp.hash,
  at: cp.at,
  controller: cp.controller,
  signature: cp.signature,
  keyId: cp.keyId,
});

const MAX_GAP_RANGES = 100;

export class FeedVerifier {
  readonly events = new SeenEvents();
  /** Validly signed checkpoints by seq. */
  readonly checkpoints = new Map<number, Checkpoint[]>();
  maxCheckpointSeq = 0;
  /** Signatures already alarmed as bad (a retained forgery re-delivered is one alarm). */
  readonly #badSignatures = new Set<string>();
  readonly #badRows = new Set<string>();
  /** The lowest seq of a format v2 row held: a row withheld as v1 cannot come after it. */
  #firstV2 = Number.POSITIVE_INFINITY;
  readonly #gapRows = new Set<number>();
  readonly #withheld: number[] = [];
  readonly #forks = new Set<number>();
  readonly #alarms: Partial<Record<FeedAlarm, number>> = {};
  readonly #base: FeedHead;
  #head: FeedHead;
  #signed: FeedHead | null = null;

  constructor(
    readonly controller: string,
    readonly publicKey: KeyObject,
    /** Where the chain is known good from (default: genesis, seq 0). */
    base: FeedHead = { seq: 0, hash: GENESIS_HASH },
  ) {
    this.#base = { ...base };
    this.#head = { ...base };
  }

  /** Takes back a row recorded earlier (already checked then), e.g. from the witness's history. */
  replayRow(row: { seq: number; hash: string; prevHash: string; type: string }): void {
    if (this.events.has(row.seq)) return;
    this.events.set(row.seq, row.hash, row.prevHash);
    if (GAP_TYPES.has(row.type)) this.#gapRows.add(row.seq);
    this.#advance();
  }

  /** Takes back a checkpoint recorded earlier (its signature was checked then). */
  replayCheckpoint(cp: Checkpoint): void {
    this.#addCheckpoint(cp);
  }

  /** Takes back a bad signature alarmed earlier, so that a re-delivered forgery is not alarmed again. */
  replayBadSignature(signature: string): void {
    this.#badSignatures.add(signature);
  }

  #count(findings: FeedFinding[]): FeedFinding[] {
    for (const f of findings) this.#alarms[f.alarm] = (this.#alarms[f.alarm] ?? 0) + 1;
    return findings;
  }

  #addCheckpoint(cp: Checkpoint): void {
    const list = this.checkpoints.get(cp.seq);
    if (list) list.push(cp);
    else this.checkpoints.set(cp.seq, [cp]);
    if (cp.seq > this.maxCheckpointSeq) this.maxCheckpointSeq = cp.seq;
    this.#updateSigned(cp);
  }

  #updateSigned(cp: Checkpoint): void {
    if (cp.seq > this.#head.seq || (this.#signed && cp.seq <= this.#signed.seq)) return;
    if (
      this.events.get(cp.seq)?.hash === cp.hash ||
      (cp.seq === this.#head.seq && cp.hash === this.#head.hash)
    )
      this.#signed = { seq: cp.seq, hash: cp.hash };
  }

  /** Moves the verified head along the rows held: each must chain from it (a declared gap may skip). */
  #advance(): void {
    for (;;) {
      const next = this.events.get(this.#head.seq + 1);
      let seq = -1;
      if (next && next.prevHash === this.#head.hash) seq = this.#head.seq + 1;
      else if (!next)
        for (const g of this.#gapRows)
          if (g > this.#head.seq && this.events.get(g)?.prevHash === this.#head.hash) seq = g;
      if (seq < 0) return;
      this.#head = { seq, hash: this.events.get(seq)!.hash };
      for (const cp of this.checkpoints.get(seq) ?? []) this.#updateSigned(cp);
    }
  }

  observeCheckpoint(cp: Checkpoint): FeedObservation {
    if (!verifyCheckpoint(cp, this.publicKey)) {
      if (this.#badSignatures.has(cp.signature)) return { record: false, findings: [] };
      this.#badSignatures.add(cp.signature);
      return {
        record: false,
        findings: this.#count([
          {
            alarm: 'bad_signature',
            seq: Number.isSafeInteger(cp.seq) ? cp.seq : null,
            detail:
              `a checkpoint for seq ${cp.seq} does not verify with the pinned public key: someone with ` +
              'broker credentials published a forgery, or the device was given another key',
            evidence: { checkpoint: cpEvidence(cp) },
          },
        ]),
      };
    }
    if (cp.controller !== this.controller)
      return {
        record: false,
        findings: this.#count([
          {
            alarm: 'wrong_controller',
            seq: cp.seq,
            detail: `a validly signed checkpoint on this controller's topic names controller ${JSON.stringify(cp.controller)}`,
            evidence: { checkpoint: cpEvidence(cp) },
          },
        ]),
      };
    const known = this.checkpoints.get(cp.seq) ?? [];
    if (known.some((k) => k.signature === cp.signature && k.hash === cp.hash))
      return { record: false, findings: [] }; // the retained checkpoint again
    const findings: FeedFinding[] = [];
    const other = known.find((k) => k.hash !== cp.hash);
    if (other)
      findings.push({
        alarm: 'equivocation',
        seq: cp.seq,
        detail:
          `two validly signed checkpoints for seq ${cp.seq} name different hashes ` +
          `(${other.hash.slice(0, 16)}… signed ${iso(other.at)}, now ${cp.hash.slice(0, 16)}… signed ${iso(cp.at)}): ` +
          'the journal was rewritten and re-signed with the device key',
        evidence: { checkpoint: cpEvidence(cp), earlier: cpEvidence(other) },
      });
    const ev = this.events.get(cp.seq);
    if (ev && ev.hash !== cp.hash)
      findings.push({
        alarm: 'equivocation',
        seq: cp.seq,
        detail:
          `a validly signed checkpoint for seq ${cp.seq} names hash ${cp.hash.slice(0, 16)}…, but the event witnessed ` +
          `at that seq had ${ev.hash.slice(0, 16)}…: the journal was rewritten and re-signed with the device key`,
        evidence: { checkpoint: cpEvidence(cp), witnessedHash: ev.hash },
      });
    if (!other && !ev && known.length === 0 && cp.seq < this.maxCheckpointSeq)
      findings.push({
        alarm: 'rollback',
        seq: cp.seq,
        detail:
          `a checkpoint for seq ${cp.seq} arrived after one for seq ${this.maxCheckpointSeq}, and the history does ` +
          'not know its hash: the journal head went back (truncated, or an old copy restored)',
        evidence: { checkpoint: cpEvidence(cp), lastSeq: this.maxCheckpointSeq },
      });
    this.#addCheckpoint(cp);
    return { record: true, findings: this.#count(findings) };
  }

  /**
   * A published row: recomputed from its bytes first (a row that does not recompute is a `bad_row`
   * finding and not recorded), then checked against what was seen. `row` is set when it is recorded.
   */
  observeRow(published: PublishedRow): FeedObservation & { row?: CheckedRow } {
    let checked = checkPublishedRow(published);
    if (checked.ok && checked.row.withheld && checked.row.seq > this.#firstV2)
      checked = {
        ok: false,
        problem: `it is withheld as a format v1 row, but format v2 rows are written since seq ${this.#firstV2}`,
      };
    if (!checked.ok) {
      const key = `${published.seq}:${published.hash}:${typeof published.bytes === 'string' ? chainHash('', published.bytes) : ''}`;
      if (this.#badRows.has(key)) return { record: false, findings: [] };
      if (this.#badRows.size >= 10_000) this.#badRows.clear(); // a flood of forgeries: bounded memory
      this.#badRows.add(key);
      return {
        record: false,
        findings: this.#count([
          {
            alarm: 'bad_row',
            seq: Number.isSafeInteger(published.seq) ? published.seq : null,
            detail: `the row published for seq ${published.seq} is not evidence: ${checked.problem}`,
            evidence: {
              seq: published.seq,
              hash: published.hash,
              prevHash: published.prevHash,
              bytes: typeof published.bytes === 'string' ? published.bytes.slice(0, 4096) : null,
            },
          },
        ]),
      };
    }
    return this.observeRecomputed(checked.row);
  }

  /**
   * A row whose hash was recomputed from its bytes (checkPublishedRow), checked against what was
   * seen: another hash at a held seq, a prevHash that is not the hash held at seq − 1, a signed
   * checkpoint for its seq with another hash.
   */
  observeRecomputed(row: Omit<CheckedRow, 'withheld'> & { withheld?: boolean }): FeedObservation & {
    row?: CheckedRow;
  } {
    const ev: CheckedRow = { ...row, withheld: row.withheld ?? false };
    const known = this.events.get(ev.seq);
    if (known) {
      if (known.hash === ev.hash) return { record: false, findings: [] }; // a re-delivery
      this.#forks.add(ev.seq);
      return {
        record: false,
        findings: this.#count([
          {
            alarm: 'fork',
            seq: ev.seq,
            detail:
              `an event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but the event witnessed ` +
              `at that seq had ${known.hash.slice(0, 16)}…: rows were rewritten or the journal was cut back and ` +
              'written again',
            evidence: { event: eventEvidence(ev), witnessedHash: known.hash },
          },
        ]),
      };
    }
    const findings: FeedFinding[] = [];
    const before = this.events.get(ev.seq - 1);
    if (before && before.hash !== ev.prevHash) {
      const declared = GAP_TYPES.has(ev.type);
      if (!declared) this.#forks.add(ev.seq);
      findings.push({
        alarm: declared ? 'rollback' : 'fork',
        seq: ev.seq,
        detail: declared
          ? `the controller declares lost rows (${ev.type} at seq ${ev.seq}): its chain does not continue from the ` +
            `hash witnessed at seq ${ev.seq - 1}; expected only after a backup was restored, and acknowledged on the device`
          : `the event for seq ${ev.seq} (${ev.type}) chains from ${ev.prevHash.slice(0, 16)}…, but the event witnessed ` +
            `at seq ${ev.seq - 1} had ${before.hash.slice(0, 16)}…: the head does not extend what was seen`,
        evidence: { event: eventEvidence(ev), witnessedHash: before.hash },
      });
    }
    const after = this.events.get(ev.seq + 1);
    if (after && after.prevHash !== ev.hash) {
      this.#forks.add(ev.seq);
      findings.push({
        alarm: 'fork',
        seq: ev.seq,
        detail:
          `the event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but the event witnessed at ` +
          `seq ${ev.seq + 1} chained from ${after.prevHash.slice(0, 16)}…`,
        evidence: { event: eventEvidence(ev), witnessedPrevHash: after.prevHash },
      });
    }
    const signed = (this.checkpoints.get(ev.seq) ?? []).find((cp) => cp.hash !== ev.hash);
    if (signed)
      findings.push({
        alarm: 'equivocation',
        seq: ev.seq,
        detail:
          `the event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but a validly signed checkpoint ` +
          `for that seq names ${signed.hash.slice(0, 16)}…`,
        evidence: { event: eventEvidence(ev), checkpoint: cpEvidence(signed) },
      });
    if (ev.withheld) this.#withheld.push(ev.seq);
    if (ev.version === 2 && ev.seq < this.#firstV2) this.#firstV2 = ev.seq;
    this.replayRow(ev);
    return { record: true, findings: this.#count(findings), row: ev };
  }

  report(): FeedReport {
    const declared = this.#declaredRanges();
    const lost = (seq: number) => declared.some((r) => seq >= r.from && seq <= r.to);
    const gaps: FeedReport['gaps'] = [];
    let from = -1;
    for (let s = this.#head.seq + 1; s <= this.events.maxSeq && gaps.length < MAX_GAP_RANGES; s++) {
      const missing = !this.events.has(s) && !lost(s);
      if (missing && from < 0) from = s;
      if (!missing && from >= 0) {
        gaps.push({ from, to: s - 1 });
        from = -1;
      }
    }
    if (from >= 0 && gaps.length < MAX_GAP_RANGES) gaps.push({ from, to: this.events.maxSeq });
    return {
      verified: { ...this.#head },
      signed: this.#signed && { ...this.#signed },
      rows: this.events.size,
      maxSeq: this.events.maxSeq,
      gaps,
      withheld: [...this.#withheld].sort((a, b) => a - b),
      forks: [...this.#forks].sort((a, b) => a - b),
      alarms: { ...this.#alarms },
    };
  }

  /**
   * The seqs each held gap row says were lost: from the last row held before it (whose hash is the
   * gap row's prevHash) up to the gap row.
   */
  #declaredRanges(): { from: number; to: number }[] {
    const ranges: { from: number; to: number }[] = [];
    for (const g of this.#gapRows) {
      let p = g - 1;
      while (p > this.#base.seq && !this.events.has(p)) p--;
      const prev = p <= this.#base.seq ? this.#base.hash : this.events.get(p)!.hash;
      if (p < g - 1 && this.events.get(g)?.prevHash === prev) ranges.push({ from: p + 1, to: g - 1 });
    }
    return ranges;
  }
}

function eventEvidence(ev: CheckedRow) {
  return { seq: ev.seq, hash: ev.hash, prevHash: ev.prevHash, at: ev.at, type: ev.type };
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}
