/**
 * Restores of a backup and their acknowledgement by a different person (POLICY §4(3), §8(1)③; issue
 * #15). `sekisho restore` journals `journal_restored`, a declared gap naming the rows lost with the
 * failed card; it stays "needs review" until someone acknowledges it who did not run the restore.
 * That keeps a restore from being a quiet way to cut the journal back: the cut is declared, and a
 * second person answers for it. Read from and written to the journal alone, like config changes.
 */

import { personOf } from '../accounts/person.js';
import { JournalRestoreAcknowledgedRecord, JournalRestoredRecord } from '../domain/index.js';
import type { Journal, JournalRow } from '../journal/index.js';
import { ApprovalError } from './errors.js';

const MAX_ROWS = 10_000;

export interface RestoreAcknowledgement {
  seq: number;
  at: number;
  actor: string | null;
  note: string;
}

/** One `journal_restored` row with its acknowledgement. */
export interface Restore {
  seq: number;
  at: number;
  /** Who ran `sekisho restore` (the row's actor). */
  restoredBy: string | null;
  backup: string;
  backupCreatedAt: number;
  backupHeadSeq: number;
  lostFrom: number;
  /** null: unknown how many rows were lost. */
  lostThrough: number | null;
  basis: JournalRestoredRecord['basis'];
  acknowledged: RestoreAcknowledgement | null;
  needsReview: boolean;
}

export type RestoreAckRefusal = 'restored' | 'no_person';

export class RestoreStore {
  readonly #journal: Journal;

  constructor(journal: Journal) {
    this.#journal = journal;
  }

  #rows(type: string): JournalRow[] {
    return this.#journal.query({ types: [type], limit: MAX_ROWS }).sort((a, b) => b.seq - a.seq);
  }

  #acks(): Map<number, RestoreAcknowledgement> {
    const out = new Map<number, RestoreAcknowledgement>();
    for (const r of this.#rows('journal_restore_acknowledged').reverse()) {
      const d = JournalRestoreAcknowledgedRecord.safeParse(r.data);
      if (d.success && !out.has(d.data.restoredSeq))
        out.set(d.data.restoredSeq, { seq: r.seq, at: r.at, actor: r.actor, note: d.data.note });
    }
    return out;
  }

  #view(r: JournalRow, acks: Map<number, RestoreAcknowledgement>): Restore | null {
    const d = JournalRestoredRecord.safeParse(r.data);
    if (!d.success) return null;
    const acknowledged = acks.get(r.seq) ?? null;
    return {
      seq: r.seq,
      at: r.at,
      restoredBy: r.actor,
      backup: d.data.backup,
      backupCreatedAt: d.data.backupCreatedAt,
      backupHeadSeq: d.data.backupHeadSeq,
      lostFrom: d.data.lostFrom,
      lostThrough: d.data.lostThrough,
      basis: d.data.basis,
      acknowledged,
      needsReview: acknowledged === null,
    };
  }

  /** Every restore, newest first. */
  list(): Restore[] {
    const acks = this.#acks();
    return this.#rows('journal_restored').flatMap((r) => this.#view(r, acks) ?? []);
  }

  get(seq: number): Restore | undefined {
    const r = this.#journal.get(seq);
    if (r?.type !== 'journal_restored') return undefined;
    return this.#view(r, this.#acks()) ?? undefined;
  }

  pendingCount(): number {
    return this.list().filter((r) => r.needsReview).length;
  }

  /** Why `actor` may not acknowledge `restore`, or null. */
  refusal(restore: Restore, actor: string): { reason: RestoreAckRefusal; by: string | null } | null {
    const person = personOf(actor);
    if (person === null) return { reason: 'no_person', by: null };
    if (personOf(restore.restoredBy) === person) return { reason: 'restored', by: restore.restoredBy };
    return null;
  }

  /**
   * Acknowledges the restore journaled at `seq`. Refused (`self_approval_refused`, journaled as
   * `journal_restore_ack_refused`) to the person who ran it and to a credential that is no person.
   */
  acknowledge(seq: number, actor: string, note: string, at: number): Restore {
    const refused = this.#journal.transaction(() => {
      const restore = this.get(seq);
      if (!restore) throw new ApprovalError('not_found', `no journal_restored row ${seq}`);
      if (restore.acknowledged)
        throw new ApprovalError('conflict', `the restore at row ${seq} is already acknowledged`);
      const why = this.refusal(restore, actor);
      if (why) {
        this.#journal.append({
          type: 'journal_restore_ack_refused',
          at,
          actor,
          data: { restoredSeq: seq, reason: why.reason, by: why.by },
        });
        return why;
      }
      this.#journal.append({
        type: 'journal_restore_acknowledged',
        at,
        actor,
        data: { restoredSeq: seq, note },
      });
      return null;
    });
    if (refused)
      throw new ApprovalError(
        'self_approval_refused',
        refused.reason === 'no_person'
          ? 'this credential stands for no person: a restore is acknowledged by a person (§4(3)); this attempt was recorded'
          : 'you ran this restore: a different person must acknowledge it (§4(3)); this attempt was recorded',
      );
    return this.get(seq)!;
  }
}
