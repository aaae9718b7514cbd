/**
 * The visit rules (domain `stepVisits`: escorts, presence, anti-passback, room checks, end of day)
 * run on badges, door events and their own deadline, and their actions performed in order: rows
 * first, then the unlock they justify.
 */

import type { Config } from '../config/index.js';
import {
  nextVisitDeadline,
  stepVisits,
  type VisitAction,
  type VisitEvent,
  type VisitSettings,
  visitSettings,
} from '../domain/index.js';
import type { JournalInput, JournalRow } from '../journal/index.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/index.js';
import type { Derived } from './derived.js';
import type { Doors } from './doors.js';
import type { Guard, Part } from './part.js';
import type { CommitOutcome, Writer } from './writer.js';

export interface VisitOutcome {
  /** The rows of the step that were committed. */
  rows: JournalRow[];
  /** Some row could not be committed (it is queued). */
  failed: boolean;
  /** The unlock was skipped: the commit of the rows that justified it failed (they are queued). */
  unlockSkipped: boolean;
}

export interface VisitsDeps {
  config: Config;
  derived: Derived;
  writer: Writer;
  doors: Doors;
  registry: Registry;
  log: Logger;
  now: () => number;
  guard: Guard;
}

export class Visits implements Part {
  private readonly settings: VisitSettings;
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires (UTC ms). */
  private timerDue: number | null = null;
  private stopped = false;

  constructor(private readonly d: VisitsDeps) {
    this.settings = visitSettings(d.config);
  }

  start(): void {
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Feed the visit rules one event and perform their actions in order: rows first, then the unlock
   * they justify. The rows are committed in groups, one transaction each, each ending where something
   * else must happen after them: an unlock (committed with the door's own rows, Doors.step), the
   * registry's in-use mark. If a group with access rows cannot be committed it is queued whole, its
   * grants recorded as refused, and the door does not open.
   *
   * No `unlock_skipped` row is written any more (issue #21): a step unlocks at most one door, its
   * event's, and nothing of the step is committed before that unlock's commit (the in-use marks come
   * after it; tests/domain/visits.test.ts checks both), so when that commit fails no committed grant
   * is left whose door did not open. The record type stays readable (journals written before).
   */
  step(event: VisitEvent): VisitOutcome {
    const { writer, doors } = this.d;
    const { actions } = stepVisits(this.d.derived.current, event, this.settings);
    const rows: JournalRow[] = [];
    const run: JournalInput[] = [];
    let failed = false;
    let unlockSkipped = false;
    // An unlock is justified by its access rows: it is skipped when one of them was not committed.
    // (Other rows that fail — an alarm, a note — are queued and written when storage recovers.)
    let accessFailed = false;
    let outcome: CommitOutcome;
    for (const a of actions as VisitAction[]) {
      switch (a.kind) {
        case 'record':
          run.push(a.record);
          break;
        case 'unlock':
          if (!accessFailed) {
            outcome = doors.step(a.doorId, { kind: 'grant', at: a.at }, run, rows);
            run.length = 0;
            if (outcome === 'committed') break;
            failed = true;
            if (outcome === 'access_queued') accessFailed = true;
          }
          // Its rows were queued whole with the step's (the grants recorded refused): nothing of this
          // step was committed before them, so there is no committed grant to explain.
          unlockSkipped = true;
          break;
        case 'alarm_raise':
          // With the event's other rows, in one transaction.
          run.push({
            type: 'alarm_raised',
            at: a.at,
            door: a.door,
            person: a.person,
            data: { alarm: a.alarm, severity: a.severity, detail: a.detail },
          });
          this.d.log.warn(`alarm ${a.alarm}`, { door: a.door, severity: a.severity, detail: a.detail });
          break;
        case 'alarm_condition_cleared':
          for (const alarmId of a.alarmIds)
            run.push({
              type: 'alarm_condition_cleared',
              at: a.at,
              door: a.door,
              person: a.person,
              data: { alarmId },
            });
          break;
        case 'visitor_badge_in_use':
          // Durable first: the registry's mark is a transaction of its own, after the rows.
          outcome = writer.commit(run, rows, { durable: true });
          run.length = 0;
          if (outcome !== 'committed') failed = true;
          if (outcome === 'access_queued') accessFailed = true;
          // Only for an entry that happened: not when the group's rows failed and the door stayed shut.
          if (accessFailed) break;
          try {
            this.d.registry.markVisitorBadgeInUse(a.badgeId, 'controller', a.at);
          } catch (err) {
            this.d.log.error('could not mark a visitor badge in use', {
              badge: a.badgeId,
              error: String(err),
            });
          }
          break;
      }
    }
    outcome = writer.commit(run, rows);
    if (outcome !== 'committed') failed = true;
    this.arm();
    return { rows, failed, unlockSkipped };
  }

  /** The visit rules' next deadline (escort windows, room-secured checks, end of day, badge expiry). */
  arm(): void {
    const now = this.d.now();
    const when = this.stopped ? null : nextVisitDeadline(this.d.derived.current, this.settings, now);
    // While storage is failing the state cannot advance: don't spin on an overdue deadline.
    const due = when === null ? null : Math.max(this.d.writer.storageOk ? 0 : 1000, when - now) + now;
    // Most steps leave the deadline where it was (the end of the day, a room's check): keep that
    // timer. The timer is not unref'd: Node keeps the empty list of a cleared unref'd timer until
    // its duration has passed, so re-arming one at every badge kept a list per badge for up to a day.
    // (stop() clears it.)
    if (this.timer !== null && due === this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = null;
    if (due === null) return;
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = null;
      this.d.guard(() => this.step({ kind: 'tick', at: this.d.now() }));
    }, due - now);
  }
}
