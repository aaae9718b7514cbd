/**
 * Config changes and their acknowledgement by a different person (POLICY §4(3), §8(1)①; issue #14
 * path 8). Every start journals `config_loaded` with the access-relevant changes since the previous
 * start (controller/runtime/config-loaded.ts); a row with changes stays "needs review" until someone
 * acknowledges it who is neither the person who started the controller with that config nor a person
 * who declared the change (`sekisho config declare`). Everything here is read from the journal and
 * written to it: no table of its own, so the journal alone proves it.
 */

import { personOf } from '../accounts/person.js';
import {
  ConfigChangeAcknowledgedRecord,
  ConfigChangeDeclaredRecord,
  type ConfigChangeEntry,
  ConfigLoadedRecord,
} from '../domain/index.js';
import type { Journal, JournalRow } from '../journal/index.js';
import { ApprovalError } from './errors.js';

/** The most rows of one type read at once (starts, declarations, acknowledgements are rare). */
const MAX_ROWS = 10_000;

export interface ConfigDeclaration {
  seq: number;
  at: number;
  actor: string | null;
  reason: string;
}

export interface ConfigAcknowledgement {
  seq: number;
  at: number;
  actor: string | null;
  note: string;
}

/** One start's `config_loaded` row with what was said about it. */
export interface ConfigLoad {
  seq: number;
  at: number;
  /** Who started the controller (the row's actor), or null. */
  startedBy: string | null;
  file: string;
  sha256: string | null;
  modifiedAt: number | null;
  previousSeq: number | null;
  /** No earlier `config_loaded` row: the changes are the whole access-relevant config. */
  baseline: boolean;
  changes: ConfigChangeEntry[];
  /** The declarations of this config's hash made since the previous start's row. */
  declarations: ConfigDeclaration[];
  acknowledged: ConfigAcknowledgement | null;
  /** Changes, not yet acknowledged. */
  needsReview: boolean;
}

export type AckRefusal = 'started' | 'declared' | 'no_person';

export class ConfigChangeStore {
  readonly #journal: Journal;

  constructor(journal: Journal) {
    this.#journal = journal;
  }

  /** Rows of one type, newest first by seq (not by time: a clock set back must not reorder starts). */
  #rows(type: string, limit = MAX_ROWS): JournalRow[] {
    return this.#journal.query({ types: [type], limit }).sort((a, b) => b.seq - a.seq);
  }

  #declarations(): (ConfigDeclaration & { sha256: string })[] {
    return this.#rows('config_change_declared').flatMap((r) => {
      const d = ConfigChangeDeclaredRecord.safeParse(r.data);
      return d.success
        ? [{ seq: r.seq, at: r.at, actor: r.actor, reason: d.data.reason, sha256: d.data.sha256 }]
        : [];
    });
  }

  #acks(): Map<number, ConfigAcknowledgement> {
    const out = new Map<number, ConfigAcknowledgement>();
    // Oldest first, so that the first acknowledgement of a row is the one kept.
    for (const r of this.#rows('config_change_acknowledged').reverse()) {
      const d = ConfigChangeAcknowledgedRecord.safeParse(r.data);
      if (d.success && !out.has(d.data.configSeq))
        out.set(d.data.configSeq, { seq: r.seq, at: r.at, actor: r.actor, note: d.data.note });
    }
    return out;
  }

  #view(
    r: JournalRow,
    declarations: (ConfigDeclaration & { sha256: string })[],
    acks: Map<number, ConfigAcknowledgement>,
  ): ConfigLoad | null {
    const d = ConfigLoadedRecord.safeParse(r.data);
    if (!d.success) return null;
    const { sha256, previousSeq, changes } = d.data;
    const acknowledged = acks.get(r.seq) ?? null;
    return {
      seq: r.seq,
      at: r.at,
      startedBy: r.actor,
      file: d.data.file,
      sha256,
      modifiedAt: d.data.modifiedAt,
      previousSeq,
      baseline: previousSeq === null,
      changes,
      declarations: declarations
        .filter((x) => sha256 !== null && x.sha256 === sha256 && x.seq > (previousSeq ?? 0))
        .map(({ sha256: _, ...x }) => x)
        .sort((a, b) => a.seq - b.seq),
      acknowledged,
      needsReview: changes.length > 0 && acknowledged === null,
    };
  }

  /** The starts, newest first: those with changes only, unless `all`. */
  list(opts: { all?: boolean; limit?: number } = {}): ConfigLoad[] {
    const declarations = this.#declarations();
    const acks = this.#acks();
    const out: ConfigLoad[] = [];
    for (const r of this.#rows('config_loaded')) {
      const v = this.#view(r, declarations, acks);
      if (v && (opts.all || v.changes.length > 0)) out.push(v);
      if (out.length >= (opts.limit ?? MAX_ROWS)) break;
    }
    return out;
  }

  get(seq: number): ConfigLoad | undefined {
    const r = this.#journal.get(seq);
    if (r?.type !== 'config_loaded') return undefined;
    return this.#view(r, this.#declarations(), this.#acks()) ?? undefined;
  }

  /** How many starts' changes wait for a different person's acknowledgement. */
  pendingCount(): number {
    return this.list().filter((c) => c.needsReview).length;
  }

  /** Why `actor` may not acknowledge `load`, with the actor of the row that makes them its author; or null. */
  refusal(load: ConfigLoad, actor: string): { reason: AckRefusal; by: string | null } | null {
    const person = personOf(actor);
    if (person === null) return { reason: 'no_person', by: null };
    if (personOf(load.startedBy) === person) return { reason: 'started', by: load.startedBy };
    const declared = load.declarations.find((x) => personOf(x.actor) === person);
    if (declared) return { reason: 'declared', by: declared.actor };
    return null;
  }

  /**
   * Acknowledges the changes of the start `seq`. Refused (`self_approval_refused`, and journaled as
   * `config_change_ack_refused`) for the person who started it, a person who declared the change,
   * and a credential that stands for no person.
   */
  acknowledge(seq: number, actor: string, note: string, at: number): ConfigLoad {
    // The refusal's row must be committed, so the transaction answers it rather than throwing.
    const refused = this.#journal.transaction(() => {
      const load = this.get(seq);
      if (!load) throw new ApprovalError('not_found', `no config_loaded row ${seq}`);
      if (load.changes.length === 0)
        throw new ApprovalError(
          'conflict',
          `the start at row ${seq} changed nothing: nothing to acknowledge`,
        );
      if (load.acknowledged)
        throw new ApprovalError('conflict', `the changes of row ${seq} are already acknowledged`);
      const why = this.refusal(load, actor);
      if (why) {
        this.#journal.append({
          type: 'config_change_ack_refused',
          at,
          actor,
          data: { configSeq: seq, reason: why.reason, by: why.by },
        });
        return why;
      }
      this.#journal.append({
        type: 'config_change_acknowledged',
        at,
        actor,
        data: { configSeq: seq, sha256: load.sha256, changes: load.changes.length, note },
      });
      return null;
    });
    if (refused)
      throw new ApprovalError(
        'self_approval_refused',
        refused.reason === 'no_person'
          ? 'this credential stands for no person: config changes are acknowledged by a person (§4(3)); this attempt was recorded'
          : `you ${refused.reason === 'started' ? 'started the controller with' : 'declared'} this config: a different person must acknowledge its changes (§4(3)); this attempt was recorded`,
      );
    return this.get(seq)!;
  }

  /** Refused acknowledgements since `from` (UTC ms). */
  refusedCount(from: number): number {
    return this.#journal.query({ types: ['config_change_ack_refused'], from, limit: MAX_ROWS }).length;
  }
}
