// One cohesive thing: the visit rules' step over one scratch state; split it and the rules no
// longer read as one. (Their settings and read-only views live in visit-settings.ts, visit-views.ts.)
/**
 * Visitors, escorts, presence, anti-passback, room secured and end of day: pure rules over the
 * derived state (POLICY §7(1)②イ, ②エ; docs/visitors.md).
 *
 *   stepVisits(derived, event, settings) → { actions }
 *
 * The state is the fold's `DerivedState` (fold.ts + visit-state.ts): every fact these rules depend on
 * is a journal row, so a restart rebuilds it exactly. The rules never keep state of their own: they
 * read the derived state, and the `record` actions they return are the only way they change it —
 * once the shell has written those rows and folded them (as it does with every row it writes). The
 * rules fold the records of one step into a scratch copy as they go, so later decisions in the same
 * step (and its alarm checks) see the earlier records.
 *
 * Events (in time order; each carries its own `at`):
 *
 * - `badge` — every badge read, after `decide()`: `access` is the access row as the shell would
 *   write it (result and reason from decide()), `person` the holder with their `mayEscort`. The
 *   rules return the row(s) to write instead — the same row, or a changed one, plus the rows of the
 *   visitors an escort brings — and `unlock` when the door should open.
 * - `exit_request` — the exit button was pressed (after its `exit_request` row).
 * - `door_opened` — after the door machine's `door_opened` row (`authorized: false` = opened while
 *   locked, e.g. from inside by the handle).
 * - `reconcile` — a manager states who is inside a room.
 * - `end_of_day` — make today's end-of-day report now (normally `tick` does it at `endOfDay`).
 * - `tick` — at `nextVisitDeadline()`, and after any row the rules read that they did not write
 *   (door rows, visitor badge rows from the registry). Ticks are idempotent.
 *
 * The rules:
 *
 * - **Escort.** A visitor's badge at an entry reader opens nothing by itself (`decide()` says
 *   `escort_required`). If a person who may escort (staff with `mayEscort`) was granted entry at
 *   that door within the escort window and is still inside, the visitor joins them (granted, one
 *   more unlock). Otherwise the visitor waits (`escort_required` with `awaitingEscortUntil`); an
 *   escort granted entry within the window takes every waiting visitor in, up to the maximum, with
 *   one unlock; the rest are refused `too_many_visitors`. No escort in time: `escort_window_expired`.
 *   The visitor's row names the escort, the escort's row (or `escort_visitors_joined`) the visitors.
 *   A visit badge limited to some doors is refused elsewhere (`door_not_permitted`).
 * - **Never alone.** A visitor only enters with an escort who is inside or entering with them, so
 *   a visitor never makes an empty room occupied. An escort badging out while their visitors are
 *   inside is refused (`escort_exit_refused`) or, with `escortExit: allow_and_alarm`, let out.
 *   Whenever a visitor is inside and their escort is not, `visitor_unescorted` is raised (one alarm
 *   per visitor) until the visitor leaves, the escort comes back, a manager reconciles, or another
 *   escort takes them over.
 * - **Escort leaving anyway.** When the exit button is pressed, or the door is opened from inside
 *   without a grant, within the escort window after an escort's refused exit, that escort is taken
 *   to have left (`escort_left_unbadged`): their visitors are unescorted.
 * - **Hand-over.** While a visitor needs a new escort (theirs is not inside, or was refused at the
 *   exit within the last `handoverWindowS`), a person who may escort badging at the inside reader does not open the door: it is an
 *   offer (`handover_offered`). A visitor needing an escort who badges within the window is handed
 *   over (`handover`). Badging again within the window takes the escort out as usual.
 * - **Presence uncertain.** The exit button (or a door opened from inside without a grant) with
 *   people inside marks them uncertain (`presence_uncertain`): they may have left. A badge read
 *   clears it for that person; a manager reconciles the rest (`presence_reconciled`).
 * - **Anti-passback.** Entering while recorded inside, or leaving while recorded outside, breaks the
 *   sequence. `soft`: the read goes through, the row says `passback: violation` and a
 *   `passback_violation` row follows; `hard`: denied `passback`. If the person's last recorded
 *   passage is older than `forgiveAfterS` (or they are marked uncertain, or there is none), it is
 *   forgiven.
 * - **Room secured.** When a room becomes empty, or an empty room's door is opened or unlocked, the
 *   door must be shown closed and locked within `roomSecureS`: then `room_secured`; past it,
 *   `room_unsecured` is raised, and cleared by the late `room_secured` or when someone enters.
 * - **Visitor badges.** An unreturned visitor badge past its validity raises
 *   `visitor_badge_not_returned` for the visitor until it is returned.
 * - **End of day.** At `endOfDay` (local time) once a day: `end_of_day_report` with who is still
 *   inside and the unreturned visitor badges.
 */
import { type ActiveAlarm, VISIT_ALARM_SEVERITY } from './alarms.js';
import { type DerivedState, foldRow, whoIsInside } from './fold.js';
import { localTimeOn, nextLocalTime } from './local-day.js';
import type {
  AccessRecord,
  EscortedVisitor,
  ReconciledPresence,
  TypedVisitRecord,
  VisitRecordData,
  VisitRecordType,
} from './records.js';
import { localDate } from './schedule.js';
import type { AlarmSeverity, Direction, PersonCategory, VisitAlarmType } from './types.js';
import type { VisitSettings } from './visit-settings.js';
import { type PendingVisitor, type PresenceEntry, type VisitorBadgeInfo, visitorsOf } from './visit-state.js';
import { unreturnedVisitorBadges } from './visit-views.js';

// ------------------------------------------------------------------------------------------------
// Events and actions

/** The holder of a badge, as the visit rules need them. */
export interface VisitPerson {
  id: string;
  category: PersonCategory;
  /** The registry's per-person escort permission. Only staff can escort, whatever this says. */
  mayEscort: boolean;
}

export type VisitEvent =
  | {
      kind: 'badge';
      at: number;
      doorId: string;
      direction: Direction;
      /** The access row as decide() left it (the shell's usual row). */
      access: AccessRecord;
      /** The badge's holder; null for an unknown badge. */
      person: VisitPerson | null;
    }
  | { kind: 'exit_request'; at: number; doorId: string }
  | { kind: 'door_opened'; at: number; doorId: string; authorized: boolean; initial?: boolean }
  | {
      kind: 'reconcile';
      at: number;
      doorId: string;
      /** The manager (dashboard user id) — the row's actor. */
      actor: string;
      /** Everyone really inside; visitors with their escort (null = none). */
      present: readonly ReconciledPresence[];
      note: string;
    }
  | { kind: 'end_of_day'; at: number }
  | { kind: 'tick'; at: number };

/** A journal row to write: the shell's `JournalInput`. */
export type VisitRecordInput = ({ type: 'access'; data: AccessRecord } | TypedVisitRecord) & {
  at: number;
  door: string | null;
  person: string | null;
  actor: string | null;
};

export type VisitAction =
  /** Write this journal row (and fold it). Rows come before the `unlock` they justify. */
  | { kind: 'record'; record: VisitRecordInput }
  /** Open the door: feed `{ kind: 'grant', at }` to its door machine. At most one per door and step. */
  | { kind: 'unlock'; doorId: string; at: number }
  /** Raise an alarm: an `alarm_raised` row with `door` and `person` as given. */
  | {
      kind: 'alarm_raise';
      alarm: VisitAlarmType;
      severity: AlarmSeverity;
      door: string | null;
      person: string | null;
      detail: string;
      at: number;
    }
  /** The alarm's condition no longer holds: an `alarm_condition_cleared` row for each of `alarmIds`. */
  | {
      kind: 'alarm_condition_cleared';
      alarm: VisitAlarmType;
      door: string | null;
      person: string | null;
      alarmIds: number[];
      at: number;
    }
  /** A visitor badge was used for the first time: `registry.markVisitorBadgeInUse(badgeId, 'controller', at)`. */
  | { kind: 'visitor_badge_in_use'; badgeId: string; personId: string; at: number };

export interface VisitStep {
  actions: VisitAction[];
}

// ------------------------------------------------------------------------------------------------
// The step

/** Advance the visit rules by one event. Pure: `state` is not modified. */
export function stepVisits(state: DerivedState, event: VisitEvent, settings: VisitSettings): VisitStep {
  const s = new Step(state, settings, event.at);
  s.expirePending();
  switch (event.kind) {
    case 'badge':
      s.badge(event);
      break;
    case 'exit_request':
      s.unbadgedPassage(event.doorId, 'exit_button');
      break;
    case 'door_opened':
      if (!event.authorized && event.initial !== true) s.unbadgedPassage(event.doorId, 'door_opened');
      break;
    case 'reconcile':
      s.reconcile(event);
      break;
    case 'end_of_day':
      s.endOfDay(true);
      break;
    case 'tick':
      break;
  }
  s.flushUnlocks();
  s.secureRooms();
  s.alarms();
  s.endOfDay(false);
  return { actions: s.actions };
}

type AlarmKey = string;
const keyOf = (door: string | null, person: string | null) => `${door ?? ''}\u0000${person ?? ''}`;

class Step {
  /** The derived state with this step's records folded in. */
  state: DerivedState;
  readonly actions: VisitAction[] = [];
  private readonly unlocks: string[] = [];
  private readonly inUse = new Set<string>();
  private readonly afterUnlock: VisitAction[] = [];
  private seq: number;

  constructor(
    private readonly base: DerivedState,
    private readonly settings: VisitSettings,
    private readonly at: number,
  ) {
    this.state = base;
    this.seq = base.lastSeq;
  }

  // -- writing

  private write(record: VisitRecordInput): void {
    this.actions.push({ kind: 'record', record });
    this.seq++;
    this.state = foldRow(this.state, { seq: this.seq, ...record } as Parameters<typeof foldRow>[1]);
  }

  private access(door: string, person: string | null, data: AccessRecord): void {
    this.write({ type: 'access', at: this.at, door, person, actor: null, data });
  }

  private rec<K extends VisitRecordType>(
    type: K,
    door: string | null,
    person: string | null,
    data: VisitRecordData<K>,
    actor: string | null = null,
  ): void {
    this.write({ type, at: this.at, door, person, actor, data } as VisitRecordInput);
  }

  private unlock(door: string): void {
    if (!this.unlocks.includes(door)) this.unlocks.push(door);
  }

  /** The unlocks, after every row that justifies them; then what can wait (the registry's in-use mark). */
  flushUnlocks(): void {
    for (const doorId of this.unlocks) this.actions.push({ kind: 'unlock', doorId, at: this.at });
    this.actions.push(...this.afterUnlock);
  }

  private markInUse(badgeId: string | null, personId: string): void {
    if (badgeId === null || this.inUse.has(badgeId)) return;
    const b = this.badgeInfo(badgeId);
    if (b === undefined || b.status !== 'issued') return;
    this.inUse.add(badgeId);
    this.afterUnlock.push({ kind: 'visitor_badge_in_use', badgeId, personId, at: this.at });
  }

  // -- reading

  private inside(door: string): Readonly<Record<string, PresenceEntry>> | undefined {
    return this.state.presence[door];
  }

  private entry(door: string, personId: string): PresenceEntry | undefined {
    const inside = this.inside(door);
    return inside !== undefined && Object.hasOwn(inside, personId) ? inside[personId] : undefined;
  }

  private escortCount(door: string, escortId: string): number {
    return visitorsOf(this.inside(door), escortId).length;
  }

  private badgeInfo(badgeId: string): VisitorBadgeInfo | undefined {
    const all = this.state.visits.visitorBadges;
    return Object.hasOwn(all, badgeId) ? all[badgeId] : undefined;
  }

  /**
   * A visitor inside who needs a new escort: theirs is not inside, or was refused at the exit within
   * the hand-over window (they want to leave).
   */
  private needsEscort(door: string, e: PresenceEntry): boolean {
    if (e.category !== 'visitor') return false;
    if (e.escort === undefined) return true;
    const escort = this.entry(door, e.escort);
    if (escort === undefined) return true;
    return (
      escort.exitRefusedAt !== undefined && this.at - escort.exitRefusedAt <= this.settings.handoverWindowMs
    );
  }

  // -- expiry

  expirePending(): void {
    for (const [door, list] of Object.entries(this.state.visits.pending)) {
      for (const p of list) {
        if (p.until > this.at) continue;
        this.rec('escort_window_expired', door, p.personId, {
          reader: p.access.reader,
          badge: p.access.badge,
          masked: p.access.masked,
          waitingSince: p.since,
          expiredAt: p.until,
        });
      }
    }
  }

  // -- badge reads

  badge(ev: Extract<VisitEvent, { kind: 'badge' }>): void {
    const { person, doorId } = ev;
    if (person === null) {
      this.access(doorId, null, ev.access);
      if (ev.access.result === 'granted') this.unlock(doorId);
      return;
    }
    if (ev.direction === 'out') this.exit(ev, person);
    else if (person.category === 'visitor') this.visitorEntry(ev, person);
    else this.entry_(ev, person);
  }

  private canEscort(p: VisitPerson): boolean {
    return p.mayEscort && p.category === 'staff';
  }

  private passback(
    door: string,
    direction: Direction,
    personId: string,
  ): { verdict: 'ok' | 'violation' | 'forgiven'; last: number | null } {
    if (this.settings.antiPassback === 'off') return { verdict: 'ok', last: null };
    const me = this.entry(door, personId);
    let last: number | undefined;
    if (direction === 'in') {
      if (me === undefined || me.uncertainSince !== undefined) return { verdict: 'ok', last: null };
      last = me.since;
    } else {
      if (me !== undefined) return { verdict: 'ok', last: null };
      last = this.state.visits.lastExit[door]?.get(personId);
      if (last === undefined) return { verdict: 'ok', last: null };
    }
    return { verdict: this.at - last < this.settings.passbackForgiveMs ? 'violation' : 'forgiven', last };
  }

  /**
   * Applies anti-passback to a read that would go through. Returns the row data to continue with, or
   * null when hard anti-passback denied it (the rows are written).
   */
  private checkPassback(
    ev: Extract<VisitEvent, { kind: 'badge' }>,
    personId: string,
    data: AccessRecord,
  ): { data: AccessRecord; violation: (() => void) | null } | null {
    const pb = this.passback(ev.doorId, ev.direction, personId);
    if (pb.verdict === 'ok') return { data, violation: null };
    const violation = () =>
      this.rec('passback_violation', ev.doorId, personId, {
        reader: data.reader,
        direction: ev.direction,
        mode: this.settings.antiPassback,
        lastPassageAt: pb.last,
      });
    if (pb.verdict === 'violation' && this.settings.antiPassback === 'hard') {
      this.access(ev.doorId, personId, {
        ...data,
        result: 'denied',
        reason: 'passback',
        passback: 'violation',
      });
      violation();
      return null;
    }
    return {
      data: { ...data, passback: pb.verdict },
      violation: pb.verdict === 'violation' ? violation : null,
    };
  }

  /** Entry of anyone but a visitor. */
  private entry_(ev: Extract<VisitEvent, { kind: 'badge' }>, p: VisitPerson): void {
    const door = ev.doorId;
    if (ev.access.result !== 'granted') {
      this.access(door, p.id, ev.access);
      return;
    }
    const checked = this.checkPassback(ev, p.id, { ...ev.access });
    if (checked === null) return;
    const data = checked.data;
    let joining: PendingVisitor[] = [];
    let overflow: PendingVisitor[] = [];
    // A lockdown override opens for the holder only: no visitors come with it.
    if (this.canEscort(p) && ev.access.reason === 'granted') {
      data.escortUntil = this.at + this.settings.escortWindowMs;
      const waiting = (this.state.visits.pending[door] ?? []).filter(
        (w) => w.until > this.at && w.personId !== p.id,
      );
      const room = Math.max(0, this.settings.maxVisitorsPerEscort - this.escortCount(door, p.id));
      joining = waiting.slice(0, room);
      overflow = waiting.slice(room);
      if (joining.length > 0) data.visitors = joining.map((w) => visitorOf(w));
    }
    this.access(door, p.id, data);
    checked.violation?.();
    for (const w of joining) {
      this.access(door, w.personId, {
        ...withoutWait(w.access),
        result: 'granted',
        reason: 'granted',
        escort: p.id,
        escortName: data.personName ?? null,
      });
      this.markInUse(w.access.badge, w.personId);
    }
    for (const w of overflow) {
      this.access(door, w.personId, {
        ...withoutWait(w.access),
        result: 'denied',
        reason: 'too_many_visitors',
      });
    }
    this.unlock(door);
  }

  private visitorEntry(ev: Extract<VisitEvent, { kind: 'badge' }>, v: VisitPerson): void {
    const door = ev.doorId;
    const base = ev.access;
    // Anything but "needs an escort" (expired, lost, lockdown …) is final. A grant (only a lockdown
    // override can give a visitor one) still needs an escort.
    if (base.result !== 'granted' && base.reason !== 'escort_required') {
      this.access(door, v.id, base);
      return;
    }
    const denied: AccessRecord = { ...base, result: 'denied', reason: 'escort_required' };
    const info = base.badge === null ? undefined : this.badgeInfo(base.badge);
    if (info !== undefined && info.doors.length > 0 && !info.doors.includes(door)) {
      this.access(door, v.id, { ...denied, reason: 'door_not_permitted' });
      return;
    }
    const checked = this.checkPassback(ev, v.id, denied);
    if (checked === null) return;
    const data = checked.data;
    const windows = (this.state.visits.escortWindows[door] ?? []).filter(
      (w) => w.until > this.at && w.personId !== v.id && this.entry(door, w.personId) !== undefined,
    );
    if (windows.length > 0) {
      const w = windows.find((x) => this.escortCount(door, x.personId) < this.settings.maxVisitorsPerEscort);
      if (w === undefined) {
        this.access(door, v.id, { ...data, reason: 'too_many_visitors' });
        checked.violation?.();
        return;
      }
      this.access(door, v.id, {
        ...data,
        result: 'granted',
        reason: 'granted',
        escort: w.personId,
        escortName: w.name,
      });
      checked.violation?.();
      this.rec('escort_visitors_joined', door, w.personId, {
        reader: base.reader,
        visitors: [{ person: v.id, name: base.personName ?? null }],
      });
      this.markInUse(base.badge, v.id);
      this.unlock(door);
      return;
    }
    this.access(door, v.id, { ...data, awaitingEscortUntil: this.at + this.settings.escortWindowMs });
    checked.violation?.();
  }

  private exit(ev: Extract<VisitEvent, { kind: 'badge' }>, p: VisitPerson): void {
    const door = ev.doorId;
    const base = ev.access;
    if (base.result !== 'granted') {
      this.access(door, p.id, base);
      return;
    }
    const me = this.entry(door, p.id);
    const checked = this.checkPassback(ev, p.id, { ...base });
    if (checked === null) return;
    const data = checked.data;

    if (p.category === 'visitor') {
      if (me !== undefined && this.needsEscort(door, me)) {
        const offer = this.openOffer(door, me);
        if (offer !== undefined) {
          this.rec('handover', door, p.id, {
            reader: base.reader,
            badge: base.badge,
            masked: base.masked,
            from: me.escort ?? null,
            to: offer,
          });
          checked.violation?.();
          return;
        }
      }
      this.access(door, p.id, { ...data, escort: me?.escort ?? null });
      checked.violation?.();
      this.unlock(door);
      return;
    }

    if (me !== undefined && this.canEscort(p)) {
      const ownOffer = (this.state.visits.handoverOffers[door] ?? []).some(
        (o) => o.personId === p.id && o.until > this.at,
      );
      const needing = Object.values(this.inside(door) ?? {}).filter(
        (e) => e.escort !== p.id && this.needsEscort(door, e),
      );
      if (
        !ownOffer &&
        needing.length > 0 &&
        this.escortCount(door, p.id) < this.settings.maxVisitorsPerEscort
      ) {
        this.rec('handover_offered', door, p.id, {
          reader: base.reader,
          badge: base.badge,
          masked: base.masked,
          until: this.at + this.settings.escortWindowMs,
          visitors: needing.map((e) => e.personId),
        });
        return; // the door stays shut: badging again within the window leaves
      }
    }

    const mine = me === undefined ? [] : visitorsOf(this.inside(door), p.id).map((e) => e.personId);
    if (mine.length > 0) {
      data.visitorsInside = mine;
      if (this.settings.escortExit === 'refuse') {
        this.access(door, p.id, { ...data, result: 'denied', reason: 'escort_exit_refused' });
        checked.violation?.();
        return;
      }
    }
    this.access(door, p.id, data);
    checked.violation?.();
    this.unlock(door);
  }

  /** The escort of the earliest open offer that can take `visitor` (not their own escort, has room). */
  private openOffer(door: string, visitor: PresenceEntry): string | undefined {
    for (const o of this.state.visits.handoverOffers[door] ?? []) {
      if (o.until <= this.at || o.personId === visitor.escort) continue;
      if (this.entry(door, o.personId) === undefined) continue;
      if (this.escortCount(door, o.personId) >= this.settings.maxVisitorsPerEscort) continue;
      return o.personId;
    }
    return undefined;
  }

  // -- passages without a badge

  unbadgedPassage(door: string, cause: 'exit_button' | 'door_opened'): void {
    const inside = this.inside(door);
    if (inside === undefined) return;
    for (const e of Object.values(inside)) {
      if (e.exitRefusedAt === undefined || this.at - e.exitRefusedAt > this.settings.escortWindowMs) continue;
      const visitors = visitorsOf(this.inside(door), e.personId).map((x) => x.personId);
      if (visitors.length === 0) continue;
      this.rec('escort_left_unbadged', door, e.personId, {
        cause,
        exitRefusedAt: e.exitRefusedAt,
        visitorsInside: visitors,
      });
    }
    const persons = Object.values(this.inside(door) ?? {})
      .filter((e) => e.uncertainSince === undefined)
      .map((e) => e.personId);
    if (persons.length > 0) this.rec('presence_uncertain', door, null, { cause, persons });
  }

  // -- manager acts

  reconcile(ev: Extract<VisitEvent, { kind: 'reconcile' }>): void {
    const door = ev.doorId;
    const before = new Set(Object.keys(this.inside(door) ?? {}));
    const present: ReconciledPresence[] = [];
    const seen = new Set<string>();
    for (const p of ev.present) {
      if (seen.has(p.personId)) continue;
      seen.add(p.personId);
      present.push(
        p.category === 'visitor'
          ? { personId: p.personId, category: p.category, escort: p.escort ?? null }
          : { personId: p.personId, category: p.category },
      );
    }
    this.rec(
      'presence_reconciled',
      door,
      null,
      {
        present,
        added: present.filter((p) => !before.has(p.personId)).map((p) => p.personId),
        removed: [...before].filter((id) => !seen.has(id)),
        note: ev.note,
      },
      ev.actor,
    );
  }

  // -- rooms, alarms, end of day

  secureRooms(): void {
    for (const [door, room] of Object.entries(this.state.visits.rooms)) {
      if (room.unsecuredSince === null || this.inside(door) !== undefined) continue;
      // The last one out has just been let out: the door is about to open, not secured yet.
      if (this.unlocks.includes(door)) continue;
      if (room.contact === 'closed' && room.lock === 'locked') {
        this.rec('room_secured', door, null, {
          unsecuredSince: room.unsecuredSince,
          late: this.at - room.unsecuredSince > this.settings.roomSecureMs,
        });
      }
    }
  }

  alarms(): void {
    const want = new Map<
      VisitAlarmType,
      Map<AlarmKey, { door: string | null; person: string | null; detail: string }>
    >();
    const add = (type: VisitAlarmType, door: string | null, person: string | null, detail: string) => {
      const m = want.get(type) ?? new Map();
      want.set(type, m);
      m.set(keyOf(door, person), { door, person, detail });
    };
    const st = this.state;
    for (const [door, room] of Object.entries(st.visits.rooms)) {
      if (room.unsecuredSince === null || st.presence[door] !== undefined) continue;
      if (this.at - room.unsecuredSince < this.settings.roomSecureMs) continue;
      add(
        'room_unsecured',
        door,
        null,
        `room empty since ${iso(room.unsecuredSince)} but not closed and locked within ` +
          `${Math.round(this.settings.roomSecureMs / 1000)} s (door ${room.contact}, lock ${room.lock})`,
      );
    }
    for (const [door, inside] of Object.entries(st.presence)) {
      for (const e of Object.values(inside)) {
        if (e.category !== 'visitor') continue;
        if (e.escort !== undefined && Object.hasOwn(inside, e.escort)) continue;
        add(
          'visitor_unescorted',
          door,
          e.personId,
          e.escort === undefined
            ? `visitor ${e.personId} is inside without an escort`
            : `visitor ${e.personId} is inside without their escort ${e.escort}`,
        );
      }
    }
    for (const b of Object.values(st.visits.visitorBadges)) {
      if (b.validUntil === null || b.validUntil > this.at) continue;
      add(
        'visitor_badge_not_returned',
        null,
        b.personId,
        `visitor badge ${b.masked ?? b.badgeId} of visitor ${b.personId} (host ${b.hostId}) was due back at ${iso(b.validUntil)}`,
      );
    }

    // Compare with the alarms whose condition still holds (the real, committed ones).
    const holding = new Map<VisitAlarmType, Map<AlarmKey, ActiveAlarm[]>>();
    for (const a of Object.values(this.base.alarms.active)) {
      if (a.conditionCleared || !isVisitAlarm(a.type)) continue;
      const m = holding.get(a.type) ?? new Map<AlarmKey, ActiveAlarm[]>();
      holding.set(a.type, m);
      const k = keyOf(a.door, a.person ?? null);
      m.set(k, [...(m.get(k) ?? []), a]);
    }
    for (const type of ['visitor_unescorted', 'room_unsecured', 'visitor_badge_not_returned'] as const) {
      const w = want.get(type) ?? new Map();
      const h = holding.get(type) ?? new Map<AlarmKey, ActiveAlarm[]>();
      for (const [k, alarms] of h) {
        if (w.has(k)) continue;
        const a = alarms[0]!;
        this.actions.push({
          kind: 'alarm_condition_cleared',
          alarm: type,
          door: a.door,
          person: a.person ?? null,
          alarmIds: alarms.map((x) => x.id).sort((x, y) => x - y),
          at: this.at,
        });
      }
      for (const [k, x] of w) {
        if (h.has(k)) continue;
        this.actions.push({
          kind: 'alarm_raise',
          alarm: type,
          severity: VISIT_ALARM_SEVERITY[type],
          door: x.door,
          person: x.person,
          detail: x.detail,
          at: this.at,
        });
      }
    }
  }

  endOfDay(force: boolean): void {
    const { timeZone, endOfDay } = this.settings;
    const date = localDate(this.at, timeZone);
    if (this.state.visits.lastEndOfDay === date) return;
    if (!force && this.at < localTimeOn(this.at, endOfDay, timeZone)) return;
    const st = this.state;
    const inside = Object.keys(st.presence)
      .sort()
      .flatMap((door) =>
        whoIsInside(st, door).map((e) => ({
          door,
          personId: e.personId,
          category: e.category ?? null,
          since: e.since,
          escort: e.escort ?? null,
          uncertain: e.uncertainSince !== undefined,
        })),
      );
    this.rec('end_of_day_report', null, null, {
      date,
      inside,
      unreturnedBadges: unreturnedVisitorBadges(st).map((b) => ({
        badgeId: b.badgeId,
        personId: b.personId,
        hostId: b.hostId,
        masked: b.masked,
        validUntil: b.validUntil,
        status: b.status,
      })),
    });
  }
}

function visitorOf(w: PendingVisitor): EscortedVisitor {
  return { person: w.personId, name: w.access.personName ?? null };
}

function withoutWait(a: AccessRecord): AccessRecord {
  const { awaitingEscortUntil: _, ...rest } = a;
  return rest;
}

function isVisitAlarm(type: string): type is VisitAlarmType {
  return Object.hasOwn(VISIT_ALARM_SEVERITY, type);
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

// ------------------------------------------------------------------------------------------------
// Deadlines and views

/**
 * When the shell must send the next `tick` (UTC ms), or null when nothing is pending: a visitor's
 * wait ending, an empty room's time to be secured, a visitor badge falling due, the end of day. A
 * deadline already due is returned as `now`.
 */
export function nextVisitDeadline(state: DerivedState, settings: VisitSettings, now: number): number | null {
  let next: number | null = null;
  const consider = (t: number) => {
    const at = Math.max(t, now);
    if (next === null || at < next) next = at;
  };
  const holding = new Set<string>();
  for (const a of Object.values(state.alarms.active)) {
    if (!a.conditionCleared && isVisitAlarm(a.type))
      holding.add(`${a.type}\u0000${keyOf(a.door, a.person ?? null)}`);
  }
  for (const list of Object.values(state.visits.pending)) for (const p of list) consider(p.until);
  for (const [door, room] of Object.entries(state.visits.rooms)) {
    if (room.unsecuredSince === null || state.presence[door] !== undefined) continue;
    if (holding.has(`room_unsecured\u0000${keyOf(door, null)}`)) continue;
    consider(room.unsecuredSince + settings.roomSecureMs);
  }
  for (const b of Object.values(state.visits.visitorBadges)) {
    if (b.validUntil === null) continue;
    if (holding.has(`visitor_badge_not_returned\u0000${keyOf(null, b.personId)}`)) continue;
    consider(b.validUntil);
  }
  const today = localTimeOn(now, settings.endOfDay, settings.timeZone);
  if (state.visits.lastEndOfDay !== localDate(now, settings.timeZone)) consider(today);
  else consider(nextLocalTime(today, settings.endOfDay, settings.timeZone));
  return next;
}
