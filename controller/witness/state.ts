/**
 * What the witness has seen, and the checks each new message meets (docs/journal.md, "The witness"):
 * a checkpoint's signature with the pinned key, equivocation (two signed hashes for one seq, or a
 * signed hash against a witnessed event's), and a head that does not extend what was seen (another
 * hash at a known seq, a prevHash that differs from the hash witnessed at seq − 1, a checkpoint
 * below the last one with a hash the history does not know). Rebuilt from the history at each start.
 * No I/O: the caller records and announces what the checks find.
 */
import type { KeyObject } from 'node:crypto';
import { type Checkpoint, verifyCheckpoint } from '../journal/index.js';
import type { HistoryLine, WitnessAlarm, WitnessedEvent } from './history.js';

export interface Finding {
  alarm: WitnessAlarm;
  seq: number | null;
  detail: string;
  evidence: Record<string, unknown>;
}

export interface Observation {
  /** Append the message to the history (false: a re-delivery, or not evidence of the controller). */
  record: boolean;
  findings: Finding[];
}

const BLOCK = 4096;

/**
 * seq → (hash, prevHash) of witnessed events, 64 bytes a seq in blocks of 4,096 seqs: a million
 * events take about 65 MB, not the several hundred a Map of strings would.
 */
export class SeenEvents {
  readonly #blocks = new Map<number, { hashes: Buffer; present: Uint8Array }>();
  #count = 0;

  get size(): number {
    return this.#count;
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
    b.hashes.write(hash, i * 64, 32, 'hex');
    b.hashes.write(prevHash, i * 64 + 32, 32, 'hex');
    b.present[i] = 1;
  }
}

/** Row types by which the controller itself declares that rows were lost (a restore, a truncation found). */
const DECLARED_GAP_TYPES = new Set(['journal_restored', 'journal_truncated']);

const cpEvidence = (cp: Checkpoint) => ({
  seq: cp.seq,
  hash: cp.hash,
  at: cp.at,
  controller: cp.controller,
  signature: cp.signature,
  keyId: cp.keyId,
});

export class WitnessState {
  readonly events = new SeenEvents();
  /** Validly signed checkpoints by seq. */
  readonly checkpoints = new Map<number, Checkpoint[]>();
  maxCheckpointSeq = 0;
  /** Signatures already alarmed as bad (a retained forgery re-delivered is one alarm). */
  readonly #badSignatures = new Set<string>();

  constructor(
    readonly controller: string,
    readonly publicKey: KeyObject,
  ) {}

  /** Replays a line of the history, at start (the history was checked line by line before). */
  replay(line: HistoryLine): void {
    if (line.kind === 'checkpoint') this.#addCheckpoint(line.checkpoint);
    else if (line.kind === 'event') {
      if (!this.events.get(line.seq)) this.events.set(line.seq, line.hash, line.prevHash);
    } else if (line.kind === 'alarm') {
      const sig = (line.evidence.checkpoint as { signature?: unknown } | undefined)?.signature;
      if (line.alarm === 'bad_signature' && typeof sig === 'string') this.#badSignatures.add(sig);
    }
  }

  #addCheckpoint(cp: Checkpoint): void {
    const list = this.checkpoints.get(cp.seq);
    if (list) list.push(cp);
    else this.checkpoints.set(cp.seq, [cp]);
    if (cp.seq > this.maxCheckpointSeq) this.maxCheckpointSeq = cp.seq;
  }

  observeCheckpoint(cp: Checkpoint): Observation {
    if (!verifyCheckpoint(cp, this.publicKey)) {
      if (this.#badSignatures.has(cp.signature)) return { record: false, findings: [] };
      this.#badSignatures.add(cp.signature);
      return {
        record: false,
        findings: [
          {
            alarm: 'bad_signature',
            seq: Number.isSafeInteger(cp.seq) ? cp.seq : null,
            detail:
              `a checkpoint for seq ${cp.seq} does not verify with the pinned public key: someone with ` +
              'broker credentials published a forgery, or the device was given another key',
            evidence: { checkpoint: cpEvidence(cp) },
          },
        ],
      };
    }
    if (cp.controller !== this.controller)
      return {
        record: false,
        findings: [
          {
            alarm: 'wrong_controller',
            seq: cp.seq,
            detail: `a validly signed checkpoint on this controller's topic names controller ${JSON.stringify(cp.controller)}`,
            evidence: { checkpoint: cpEvidence(cp) },
          },
        ],
      };
    const known = this.checkpoints.get(cp.seq) ?? [];
    if (known.some((k) => k.signature === cp.signature && k.hash === cp.hash))
      return { record: false, findings: [] }; // the retained checkpoint again
    const findings: Finding[] = [];
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
    return { record: true, findings };
  }

  observeEvent(ev: WitnessedEvent): Observation {
    const known = this.events.get(ev.seq);
    if (known) {
      if (known.hash === ev.hash) return { record: false, findings: [] }; // a re-delivery
      return {
        record: false,
        findings: [
          {
            alarm: 'fork',
            seq: ev.seq,
            detail:
              `an event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but the event witnessed ` +
              `at that seq had ${known.hash.slice(0, 16)}…: rows were rewritten or the journal was cut back and ` +
              'written again',
            evidence: { event: ev, witnessedHash: known.hash },
          },
        ],
      };
    }
    const findings: Finding[] = [];
    const before = this.events.get(ev.seq - 1);
    if (before && before.hash !== ev.prevHash) {
      const declared = DECLARED_GAP_TYPES.has(ev.type);
      findings.push({
        alarm: declared ? 'rollback' : 'fork',
        seq: ev.seq,
        detail: declared
          ? `the controller declares lost rows (${ev.type} at seq ${ev.seq}): its chain does not continue from the ` +
            `hash witnessed at seq ${ev.seq - 1}; expected only after a backup was restored, and acknowledged on the device`
          : `the event for seq ${ev.seq} (${ev.type}) chains from ${ev.prevHash.slice(0, 16)}…, but the event witnessed ` +
            `at seq ${ev.seq - 1} had ${before.hash.slice(0, 16)}…: the head does not extend what was seen`,
        evidence: { event: ev, witnessedHash: before.hash },
      });
    }
    const after = this.events.get(ev.seq + 1);
    if (after && after.prevHash !== ev.hash)
      findings.push({
        alarm: 'fork',
        seq: ev.seq,
        detail:
          `the event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but the event witnessed at ` +
          `seq ${ev.seq + 1} chained from ${after.prevHash.slice(0, 16)}…`,
        evidence: { event: ev, witnessedPrevHash: after.prevHash },
      });
    const signed = (this.checkpoints.get(ev.seq) ?? []).find((cp) => cp.hash !== ev.hash);
    if (signed)
      findings.push({
        alarm: 'equivocation',
        seq: ev.seq,
        detail:
          `the event for seq ${ev.seq} (${ev.type}) has hash ${ev.hash.slice(0, 16)}…, but a validly signed checkpoint ` +
          `for that seq names ${signed.hash.slice(0, 16)}…`,
        evidence: { event: ev, checkpoint: cpEvidence(signed) },
      });
    this.events.set(ev.seq, ev.hash, ev.prevHash);
    return { record: true, findings };
  }
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}
