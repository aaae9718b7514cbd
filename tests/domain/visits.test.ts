/**
 * The visit rules, scenario by scenario, with plain values and a controlled clock (just numbers).
 *
 * `Site` plays the shell: it feeds events to stepVisits(), performs the actions the way the runtime
 * does (each record becomes a journal row with the next seq and is folded; alarms become
 * alarm_raised / alarm_condition_cleared rows; unlocks are noted) and keeps every row, so a test can
 * fold the journal from scratch at any point — a restart.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessRecord,
  type DerivedState,
  type Direction,
  decide,
  defaultVisitorBadgeUntil,
  foldRow,
  foldRows,
  initialDerivedState,
  listActiveAlarms,
  nextLocalTime,
  nextVisitDeadline,
  type PersonCategory,
  parseVisitRecord,
  pendingVisitors,
  presenceView,
  type RecordRow,
  restoreDerivedState,
  roomStatus,
  snapshotDerivedState,
  stepVisits,
  unreturnedVisitorBadges,
  type VisitAction,
  type VisitEvent,
  type VisitSettings,
  visitSettings,
  whoIsInside,
} from '../../controller/domain/index.js';
import { canonicalJson } from '../../controller/journal/index.js';

/** 2026-04-01 10:00 in Tokyo (01:00 UTC). */
const T0 = Date.UTC(2026, 3, 1, 1, 0, 0);
const S = 1000;
const MIN = 60 * S;
const DOOR = 'machine-room';
const TZ = 'Asia/Tokyo';

const SETTINGS: VisitSettings = {
  timeZone: TZ,
  escortWindowMs: 15 * S,
  maxVisitorsPerEscort: 2,
  escortExit: 'refuse',
  handoverWindowMs: 5 * MIN,
  antiPassback: 'off',
  passbackForgiveMs: 60 * MIN,
  roomSecureMs: 60 * S,
  endOfDay: '19:00',
  badgeValidity: 'end_of_day',
};

interface Who {
  id: string;
  name: string;
  category: PersonCategory;
  mayEscort: boolean;
}
const who = (id: string, name: string, category: PersonCategory, mayEscort = false): Who => ({
  id,
  name,
  category,
  mayEscort,
});
const E1 = who('p-e1', 'Escort One', 'staff', true);
const E2 = who('p-e2', 'Escort Two', 'staff', true);
const STAFF = who('p-s', 'Plain Staff', 'staff');
const CONTRACTOR = who('p-c', 'Contractor', 'contractor', true); // mayEscort is ignored: not staff
const V1 = who('p-v1', 'Visitor One', 'visitor');
const V2 = who('p-v2', 'Visitor Two', 'visitor');
const V3 = who('p-v3', 'Visitor Three', 'visitor');

/** The shell, in miniature. */
class Site {
  readonly rows: RecordRow[] = [];
  state: DerivedState;
  readonly unlocks: { doorId: string; at: number }[] = [];

  constructor(
    readonly settings: VisitSettings = SETTINGS,
    state: DerivedState = initialDerivedState(),
    rows: RecordRow[] = [],
  ) {
    this.state = state;
    this.rows.push(...rows);
  }

  /** Append a row as the journal would (next seq, data stored as canonical JSON) and fold it. */
  write(input: Omit<RecordRow, 'seq'>): RecordRow {
    // canonicalJson throws for anything a journal row cannot carry (undefined, NaN …).
    const data = JSON.parse(canonicalJson(input.data)) as Record<string, unknown>;
    const row = { seq: this.rows.length + 1, ...input, data } as RecordRow;
    this.rows.push(row);
    this.state = foldRow(this.state, row);
    return row;
  }

  step(event: VisitEvent): VisitAction[] {
    const before = JSON.stringify(snapshotDerivedState(this.state));
    const { actions } = stepVisits(this.state, event, this.settings);
    expect(JSON.stringify(snapshotDerivedState(this.state))).toBe(before); // pure
    for (const a of actions) {
      switch (a.kind) {
        case 'record':
          this.write({ ...a.record, data: a.record.data as Record<string, unknown> });
          break;
        case 'unlock':
          this.unlocks.push({ doorId: a.doorId, at: a.at });
          break;
        case 'alarm_raise':
          this.write({
            type: 'alarm_raised',
            at: a.at,
            door: a.door,
            person: a.person,
            actor: null,
            data: { alarm: a.alarm, severity: a.severity, detail: a.detail },
          });
          break;
        case 'alarm_condition_cleared':
          for (const alarmId of a.alarmIds)
            this.write({
              type: 'alarm_condition_cleared',
              at: a.at,
              door: a.door,
              person: a.person,
              actor: null,
              data: { alarmId },
            });
          break;
        case 'visitor_badge_in_use':
          this.write({
            type: 'visitor_badge_in_use',
            at: a.at,
            door: null,
            person: a.personId,
            actor: 'controller',
            data: { badgeId: a.badgeId, personId: a.personId },
          });
          break;
      }
    }
    return actions;
  }

  /** A badge read, decided like decide() would: visitors at an entry reader need an escort. */
  read(
    at: number,
    p: Who,
    direction: Direction,
    over: Partial<AccessRecord> = {},
    door = DOOR,
  ): VisitAction[] {
    const visitorIn = p.category === 'visitor' && direction === 'in';
    const access: AccessRecord = {
      reader: direction === 'in' ? 'entry' : 'exit',
      direction,
      result: visitorIn ? 'denied' : 'granted',
      reason: visitorIn ? 'escort_required' : 'granted',
      badge: `b-${p.id}`,
      masked: `••••${p.id.slice(-2).toUpperCase()}`,
      format: 'em4100',
      personName: p.name,
      category: p.category,
      ...over,
    };
    return this.step({
      kind: 'badge',
      at,
      doorId: door,
      direction,
      access,
      person: { id: p.id, category: p.category, mayEscort: p.mayEscort },
    });
  }

  in(at: number, p: Who, over?: Partial<AccessRecord>) {
    return this.read(at, p, 'in', over);
  }
  out(at: number, p: Who, over?: Partial<AccessRecord>) {
    return this.read(at, p, 'out', over);
  }
  tick(at: number) {
    return this.step({ kind: 'tick', at });
  }
  /** A door row as the door machine writes it, then the tick the shell sends after door rows. */
  door(at: number, type: 'door_opened' | 'door_closed' | 'door_locked' | 'door_unlocked', data = {}) {
    this.write({ type, at, door: DOOR, person: null, actor: null, data });
    return this.tick(at);
  }
  /** Let the last one out: unlock, open, close, relock (what the door machine records). */
  passThrough(at: number) {
    this.write({
      type: 'door_unlocked',
      at,
      door: DOOR,
      person: null,
      actor: null,
      data: { cause: 'grant' },
    });
    this.door(at + 1 * S, 'door_opened', { authorized: true });
    this.door(at + 3 * S, 'door_closed');
    return this.door(at + 3 * S, 'door_locked', { cause: 'closed' });
  }
  /** What the registry writes when it issues a visitor badge. */
  issueBadge(at: number, v: Who, validUntil: number, doors: string[] = []) {
    this.write({
      type: 'visitor_badge_issued',
      at,
      door: null,
      person: v.id,
      actor: 'u-reception',
      data: {
        badgeId: `b-${v.id}`,
        personId: v.id,
        hostId: E1.id,
        purpose: 'server maintenance',
        equipment: ['laptop (asset 1234)'],
        doors,
        masked: '••••0001',
        validFrom: at,
        validUntil,
      },
    });
  }
  inside() {
    return whoIsInside(this.state, DOOR).map((e) => e.personId);
  }
  alarms() {
    return listActiveAlarms(this.state.alarms).map((a) => ({
      id: a.id,
      type: a.type,
      person: a.person ?? null,
      cleared: a.conditionCleared,
    }));
  }
  /** The same site after a restart: the derived state folded from the journal alone. */
  restarted(): Site {
    return new Site(
      this.settings,
      foldRows(initialDerivedState(), this.rows),
      this.rows.map((r) => ({ ...r })),
    );
  }
}

type Rec = Extract<VisitAction, { kind: 'record' }>['record'];
const records = (actions: VisitAction[]): Rec[] =>
  actions.flatMap((a) => (a.kind === 'record' ? [a.record] : []));
/** [type, person, result/reason] of each record, compactly. */
const summary = (actions: VisitAction[]) =>
  actions.map((a) => {
    if (a.kind === 'record') {
      const r = a.record;
      return r.type === 'access'
        ? `access ${r.person} ${r.data.direction} ${r.data.result} ${r.data.reason}`
        : `${r.type} ${r.person ?? '-'}`;
    }
    if (a.kind === 'unlock') return `unlock ${a.doorId}`;
    if (a.kind === 'alarm_raise') return `raise ${a.alarm} ${a.person ?? '-'}`;
    if (a.kind === 'alarm_condition_cleared')
      return `clear ${a.alarm} ${a.person ?? '-'} ${a.alarmIds.join(',')}`;
    return `in_use ${a.badgeId}`;
  });
const accessOf = (actions: VisitAction[], personId: string) =>
  records(actions).find((r) => r.type === 'access' && r.person === personId)?.data as
    | AccessRecord
    | undefined;

describe('escort rule at the entry reader', () => {
  it('escort first, visitor within the window: the visitor joins, both rows name each other', () => {
    const site = new Site();
    site.issueBadge(T0 - 10 * MIN, V1, T0 + 9 * 3600 * S);
    const a = site.in(T0, E1);
    expect(summary(a)).toEqual([`access ${E1.id} in granted granted`, `unlock ${DOOR}`]);
    expect(accessOf(a, E1.id)?.escortUntil).toBe(T0 + 15 * S);

    const b = site.in(T0 + 9 * S, V1);
    expect(summary(b)).toEqual([
      `access ${V1.id} in granted granted`,
      `escort_visitors_joined ${E1.id}`,
      `unlock ${DOOR}`,
      `in_use b-${V1.id}`, // after the unlock: the registry's mark is not on the critical path
    ]);
    expect(accessOf(b, V1.id)).toMatchObject({
      escort: E1.id,
      escortName: 'Escort One',
      badge: `b-${V1.id}`,
    });
    expect(records(b)[1]!.data).toEqual({
      reader: 'entry',
      visitors: [{ person: V1.id, name: 'Visitor One' }],
    });
    expect(presenceView(site.state, DOOR)).toEqual([
      expect.objectContaining({ personId: E1.id, category: 'staff', escort: null, escorted: null }),
      expect.objectContaining({
        personId: V1.id,
        category: 'visitor',
        escort: E1.id,
        escorted: true,
        uncertain: false,
      }),
    ]);
    expect(unreturnedVisitorBadges(site.state)[0]?.status).toBe('in_use');
    expect(site.alarms()).toEqual([]);
  });

  it('visitor first, escort within the window: one unlock for the group, the escort row names the visitors', () => {
    const site = new Site();
    const a = site.in(T0, V1);
    expect(summary(a)).toEqual([`access ${V1.id} in denied escort_required`]);
    expect(accessOf(a, V1.id)?.awaitingEscortUntil).toBe(T0 + 15 * S);
    expect(pendingVisitors(site.state, DOOR).map((p) => p.personId)).toEqual([V1.id]);
    expect(site.inside()).toEqual([]);
    expect(nextVisitDeadline(site.state, SETTINGS, T0)).toBe(T0 + 15 * S);

    const b = site.in(T0 + 14 * S, E1);
    expect(summary(b)).toEqual([
      `access ${E1.id} in granted granted`,
      `access ${V1.id} in granted granted`,
      `unlock ${DOOR}`,
    ]);
    expect(accessOf(b, E1.id)?.visitors).toEqual([{ person: V1.id, name: 'Visitor One' }]);
    const v = accessOf(b, V1.id)!;
    expect(v).toMatchObject({
      escort: E1.id,
      escortName: 'Escort One',
      reader: 'entry',
      badge: `b-${V1.id}`,
    });
    expect(v.awaitingEscortUntil).toBeUndefined();
    expect(records(b).every((r) => r.at === T0 + 14 * S)).toBe(true);
    expect(pendingVisitors(site.state, DOOR)).toEqual([]);
    expect(site.inside()).toEqual([E1.id, V1.id]); // same time: by id
    expect(site.unlocks).toEqual([{ doorId: DOOR, at: T0 + 14 * S }]);
  });

  it('window expired: the wait ends with escort_window_expired; a late escort enters alone', () => {
    const site = new Site();
    site.in(T0, V1);
    expect(site.tick(T0 + 14_999)).toEqual([]);
    const t = site.tick(T0 + 15 * S);
    expect(summary(t)).toEqual([`escort_window_expired ${V1.id}`]);
    expect(records(t)[0]!.data).toEqual({
      reader: 'entry',
      badge: `b-${V1.id}`,
      masked: '••••V1',
      waitingSince: T0,
      expiredAt: T0 + 15 * S,
    });
    const late = site.in(T0 + 16 * S, E1);
    expect(summary(late)).toEqual([`access ${E1.id} in granted granted`, `unlock ${DOOR}`]);
    expect(site.inside()).toEqual([E1.id]);

    // Escort first, visitor too late: the visitor waits instead of joining.
    const site2 = new Site();
    site2.in(T0, E1);
    expect(summary(site2.in(T0 + 15 * S, V1))).toEqual([`access ${V1.id} in denied escort_required`]);
  });

  it('an expired wait found at the next read (no tick in between) is closed first and cannot pair', () => {
    const site = new Site();
    site.in(T0, V1);
    const b = site.in(T0 + 20 * S, E1);
    expect(summary(b)).toEqual([
      `escort_window_expired ${V1.id}`,
      `access ${E1.id} in granted granted`,
      `unlock ${DOOR}`,
    ]);
  });

  it('too many visitors: the escort takes the maximum, the others are refused', () => {
    const site = new Site(); // maxVisitorsPerEscort 2
    site.in(T0, V1);
    site.in(T0 + 1 * S, V2);
    site.in(T0 + 2 * S, V3);
    const b = site.in(T0 + 3 * S, E1);
    expect(summary(b)).toEqual([
      `access ${E1.id} in granted granted`,
      `access ${V1.id} in granted granted`,
      `access ${V2.id} in granted granted`,
      `access ${V3.id} in denied too_many_visitors`,
      `unlock ${DOOR}`,
    ]);
    expect(accessOf(b, E1.id)?.visitors?.map((v) => v.person)).toEqual([V1.id, V2.id]);
    expect(pendingVisitors(site.state, DOOR)).toEqual([]);

    // Escort first: the third visitor finds the escort full; a second escort can take them.
    const s2 = new Site();
    s2.in(T0, E1);
    s2.in(T0 + 1 * S, V1);
    s2.in(T0 + 2 * S, V2);
    expect(summary(s2.in(T0 + 3 * S, V3))).toEqual([`access ${V3.id} in denied too_many_visitors`]);
    s2.in(T0 + 4 * S, E2);
    const c = s2.in(T0 + 5 * S, V3);
    expect(accessOf(c, V3.id)).toMatchObject({ result: 'granted', escort: E2.id });
  });

  it('a visitor alone is never let in; staff who may not escort and contractors do not count', () => {
    const site = new Site();
    expect(summary(site.in(T0, V1))).toEqual([`access ${V1.id} in denied escort_required`]);
    const s = site.in(T0 + 2 * S, STAFF);
    expect(summary(s)).toEqual([`access ${STAFF.id} in granted granted`, `unlock ${DOOR}`]);
    expect(accessOf(s, STAFF.id)?.escortUntil).toBeUndefined();
    const c = site.in(T0 + 3 * S, CONTRACTOR);
    expect(accessOf(c, CONTRACTOR.id)?.visitors).toBeUndefined();
    expect(pendingVisitors(site.state, DOOR).map((p) => p.personId)).toEqual([V1.id]);
    site.tick(T0 + 15 * S);
    expect(site.inside()).not.toContain(V1.id);
    expect(site.unlocks.length).toBe(2);
  });

  it('never alone: an escort who entered and left again cannot bring a visitor into an empty room', () => {
    const site = new Site();
    site.in(T0, E1);
    site.out(T0 + 3 * S, E1);
    expect(site.inside()).toEqual([]);
    expect(summary(site.in(T0 + 6 * S, V1))).toEqual([`access ${V1.id} in denied escort_required`]);
    expect(site.inside()).toEqual([]);
  });

  it('an escort denied at the door (outside schedule) brings nobody in', () => {
    const site = new Site();
    site.in(T0, V1);
    const b = site.in(T0 + 2 * S, E1, { result: 'denied', reason: 'outside_schedule' });
    expect(summary(b)).toEqual([`access ${E1.id} in denied outside_schedule`]);
    expect(pendingVisitors(site.state, DOOR).map((p) => p.personId)).toEqual([V1.id]);
  });

  it('final denials of a visitor badge (expired, lost …) stay final; a visit badge limited to other doors is refused', () => {
    const site = new Site();
    expect(summary(site.in(T0, V1, { reason: 'expired' }))).toEqual([`access ${V1.id} in denied expired`]);
    expect(pendingVisitors(site.state, DOOR)).toEqual([]);
    site.issueBadge(T0, V2, T0 + 3600 * S, ['server-cage']);
    expect(summary(site.in(T0 + 1 * S, V2))).toEqual([`access ${V2.id} in denied door_not_permitted`]);
  });

  it('a lockdown override opens for its holder only: waiting visitors stay outside', () => {
    const site = new Site();
    site.in(T0, V1);
    const b = site.in(T0 + 2 * S, E1, { reason: 'override_granted' });
    expect(summary(b)).toEqual([`access ${E1.id} in granted override_granted`, `unlock ${DOOR}`]);
    expect(accessOf(b, E1.id)?.escortUntil).toBeUndefined();
    expect(summary(site.in(T0 + 3 * S, V2))).toEqual([`access ${V2.id} in denied escort_required`]);
  });

  it('unknown badges pass through unchanged', () => {
    const site = new Site();
    const access: AccessRecord = {
      reader: 'entry',
      direction: 'in',
      result: 'denied',
      reason: 'unknown_badge',
      badge: null,
      masked: '••••FFFF',
      format: 'em4100',
      personName: null,
      category: null,
    };
    const a = site.step({ kind: 'badge', at: T0, doorId: DOOR, direction: 'in', access, person: null });
    expect(records(a)).toEqual([
      { type: 'access', at: T0, door: DOOR, person: null, actor: null, data: access },
    ]);
  });
});

describe('the escort leaving first', () => {
  function visit(settings: VisitSettings = SETTINGS): Site {
    const site = new Site(settings);
    site.in(T0, V1);
    site.in(T0 + 1 * S, V2);
    site.in(T0 + 2 * S, E1);
    expect(site.inside().sort()).toEqual([E1.id, V1.id, V2.id].sort());
    return site;
  }

  it('refuse: the escort cannot badge out while their visitors are inside; after them, they can', () => {
    const site = visit();
    const a = site.out(T0 + 10 * MIN, E1);
    expect(summary(a)).toEqual([`access ${E1.id} out denied escort_exit_refused`]);
    expect(accessOf(a, E1.id)?.visitorsInside).toEqual([V1.id, V2.id]);
    expect(presenceView(site.state, DOOR).find((p) => p.personId === E1.id)?.exitRefused).toBe(true);
    const v1 = site.out(T0 + 10 * MIN + 5 * S, V1);
    expect(summary(v1)).toEqual([`access ${V1.id} out granted granted`, `unlock ${DOOR}`]);
    expect(accessOf(v1, V1.id)?.escort).toBe(E1.id); // the visitor's exit names the escort
    site.out(T0 + 10 * MIN + 6 * S, V2);
    expect(summary(site.out(T0 + 10 * MIN + 7 * S, E1))).toEqual([
      `access ${E1.id} out granted granted`,
      `unlock ${DOOR}`,
    ]);
    expect(site.inside()).toEqual([]);
    expect(site.alarms()).toEqual([]);
  });

  it('allow_and_alarm: the escort is let out and visitor_unescorted latches per visitor until they leave', () => {
    const site = visit({ ...SETTINGS, escortExit: 'allow_and_alarm' });
    const a = site.out(T0 + 10 * MIN, E1);
    expect(summary(a)).toEqual([
      `access ${E1.id} out granted granted`,
      `unlock ${DOOR}`,
      `raise visitor_unescorted ${V1.id}`,
      `raise visitor_unescorted ${V2.id}`,
    ]);
    expect(accessOf(a, E1.id)?.visitorsInside).toEqual([V1.id, V2.id]);
    const raised = a.find((x) => x.kind === 'alarm_raise');
    expect(raised).toMatchObject({ severity: 'major', door: DOOR, person: V1.id });
    expect(presenceView(site.state, DOOR).map((p) => [p.personId, p.escorted])).toEqual([
      [V1.id, false],
      [V2.id, false],
    ]);
    expect(site.tick(T0 + 11 * MIN)).toEqual([]); // latched, not raised again
    const ids = site.alarms().map((x) => x.id);
    const v1 = site.out(T0 + 12 * MIN, V1);
    expect(summary(v1)).toEqual([
      `access ${V1.id} out granted granted`,
      `unlock ${DOOR}`,
      `clear visitor_unescorted ${V1.id} ${ids[0]}`,
    ]);
    expect(site.alarms()).toEqual([
      { id: ids[0], type: 'visitor_unescorted', person: V1.id, cleared: true }, // latched until acknowledged
      { id: ids[1], type: 'visitor_unescorted', person: V2.id, cleared: false },
    ]);
  });

  it('the escort returning ends the unescorted condition', () => {
    const site = visit({ ...SETTINGS, escortExit: 'allow_and_alarm' });
    site.out(T0 + 10 * MIN, E1);
    const back = site.in(T0 + 12 * MIN, E1);
    expect(summary(back).filter((x) => x.startsWith('clear'))).toEqual([
      expect.stringMatching(`^clear visitor_unescorted ${V1.id}`),
      expect.stringMatching(`^clear visitor_unescorted ${V2.id}`),
    ]);
  });

  it('refused, then the exit button within the window: the escort is taken to have left', () => {
    const site = visit();
    site.out(T0 + 10 * MIN, E1);
    site.write({
      type: 'exit_request',
      at: T0 + 10 * MIN + 4 * S,
      door: DOOR,
      person: null,
      actor: null,
      data: {},
    });
    const a = site.step({ kind: 'exit_request', at: T0 + 10 * MIN + 4 * S, doorId: DOOR });
    expect(summary(a)).toEqual([
      `escort_left_unbadged ${E1.id}`,
      'presence_uncertain -',
      `raise visitor_unescorted ${V1.id}`,
      `raise visitor_unescorted ${V2.id}`,
    ]);
    expect(records(a)[0]!.data).toEqual({
      cause: 'exit_button',
      exitRefusedAt: T0 + 10 * MIN,
      visitorsInside: [V1.id, V2.id],
    });
    expect(records(a)[1]!.data).toEqual({ cause: 'exit_button', persons: [V1.id, V2.id] });
    expect(site.inside().sort()).toEqual([V1.id, V2.id].sort());
  });

  it('refused, then the door opened from inside without a grant: the same', () => {
    const site = visit();
    site.out(T0 + 10 * MIN, E1);
    site.write({
      type: 'door_opened',
      at: T0 + 10 * MIN + 2 * S,
      door: DOOR,
      person: null,
      actor: null,
      data: { authorized: false },
    });
    const a = site.step({ kind: 'door_opened', at: T0 + 10 * MIN + 2 * S, doorId: DOOR, authorized: false });
    expect(summary(a).slice(0, 2)).toEqual([`escort_left_unbadged ${E1.id}`, 'presence_uncertain -']);
    expect(site.alarms().map((x) => x.person)).toEqual([V1.id, V2.id]);
  });

  it('an exit button long after the refusal only makes presence uncertain', () => {
    const site = visit();
    site.out(T0 + 10 * MIN, E1);
    const a = site.step({ kind: 'exit_request', at: T0 + 20 * MIN, doorId: DOOR });
    expect(summary(a)).toEqual(['presence_uncertain -']);
  });
});

describe('hand-over', () => {
  it('the escort wants to leave: a second escort badges inside, then the visitor: handed over, nobody goes out', () => {
    const site = new Site();
    site.in(T0, E2);
    site.in(T0 + 1 * MIN, V1);
    site.in(T0 + 1 * MIN + 1 * S, E1);
    site.out(T0 + 30 * MIN, E1); // refused: V1 inside
    const unlocks = site.unlocks.length;

    const offer = site.out(T0 + 31 * MIN, E2);
    expect(summary(offer)).toEqual([`handover_offered ${E2.id}`]);
    expect(records(offer)[0]!.data).toMatchObject({ until: T0 + 31 * MIN + 15 * S, visitors: [V1.id] });
    const h = site.out(T0 + 31 * MIN + 5 * S, V1);
    expect(summary(h)).toEqual([`handover ${V1.id}`]);
    expect(records(h)[0]!.data).toEqual({
      reader: 'exit',
      badge: `b-${V1.id}`,
      masked: '••••V1',
      from: E1.id,
      to: E2.id,
    });
    expect(site.unlocks.length).toBe(unlocks); // nobody went out
    expect(site.inside().sort()).toEqual([E1.id, E2.id, V1.id].sort());
    expect(presenceView(site.state, DOOR).find((p) => p.personId === V1.id)?.escort).toBe(E2.id);

    expect(summary(site.out(T0 + 32 * MIN, E1))).toEqual([
      `access ${E1.id} out granted granted`,
      `unlock ${DOOR}`,
    ]);
    expect(summary(site.out(T0 + 33 * MIN, E2))).toEqual([`access ${E2.id} out denied escort_exit_refused`]);
  });

  it('an escort refused long ago who stayed does not turn other escorts’ exits into offers', () => {
    const site = new Site();
    site.in(T0, E2);
    site.in(T0 + 1 * MIN, V1);
    site.in(T0 + 1 * MIN + 1 * S, E1);
    site.out(T0 + 30 * MIN, E1); // refused; E1 stays with V1
    expect(summary(site.out(T0 + 34 * MIN, E2))).toEqual([`handover_offered ${E2.id}`]); // within 5 min
    site.out(T0 + 34 * MIN + 1 * S, E2); // badging again: out
    site.in(T0 + 40 * MIN, E2);
    expect(summary(site.out(T0 + 50 * MIN, E2))).toEqual([
      `access ${E2.id} out granted granted`,
      `unlock ${DOOR}`,
    ]);
  });

  it('an unescorted visitor taken over by an escort who comes in: the alarm condition clears', () => {
    const site = new Site({ ...SETTINGS, escortExit: 'allow_and_alarm' });
    site.in(T0, V1);
    site.in(T0 + 1 * S, E1);
    site.out(T0 + 5 * MIN, E1);
    const [alarm] = site.alarms();
    expect(alarm).toMatchObject({ type: 'visitor_unescorted', person: V1.id, cleared: false });
    site.in(T0 + 7 * MIN, E2);
    expect(summary(site.out(T0 + 8 * MIN, E2))).toEqual([`handover_offered ${E2.id}`]);
    const h = site.out(T0 + 8 * MIN + 3 * S, V1);
    expect(summary(h)).toEqual([`handover ${V1.id}`, `clear visitor_unescorted ${V1.id} ${alarm!.id}`]);
    expect(records(h)[0]!.data).toMatchObject({ from: E1.id, to: E2.id });
  });

  it('badging twice within the window leaves instead; an offer nobody takes lapses', () => {
    const site = new Site({ ...SETTINGS, escortExit: 'allow_and_alarm' });
    site.in(T0, V1);
    site.in(T0 + 1 * S, E1);
    site.out(T0 + 5 * MIN, E1);
    site.in(T0 + 6 * MIN, E2);
    site.out(T0 + 7 * MIN, E2);
    expect(summary(site.out(T0 + 7 * MIN + 2 * S, E2))).toEqual([
      `access ${E2.id} out granted granted`,
      `unlock ${DOOR}`,
    ]);
    // V1 still needs an escort and may simply leave.
    site.in(T0 + 8 * MIN, E2);
    site.out(T0 + 9 * MIN, E2);
    const late = site.out(T0 + 9 * MIN + 20 * S, V1); // after the offer's window
    expect(summary(late).slice(0, 2)).toEqual([`access ${V1.id} out granted granted`, `unlock ${DOOR}`]);
    expect(accessOf(late, V1.id)?.escort).toBe(E1.id);
  });
});

describe('exit button and reconciliation', () => {
  it('the exit button makes presence uncertain; a manager reconciles it (a journaled act)', () => {
    const site = new Site();
    site.in(T0, STAFF);
    site.in(T0 + 1 * S, CONTRACTOR);
    site.write({ type: 'exit_request', at: T0 + 5 * MIN, door: DOOR, person: null, actor: null, data: {} });
    const a = site.step({ kind: 'exit_request', at: T0 + 5 * MIN, doorId: DOOR });
    expect(summary(a)).toEqual(['presence_uncertain -']);
    expect(records(a)[0]).toMatchObject({ door: DOOR, data: { persons: [STAFF.id, CONTRACTOR.id] } });
    expect(roomStatus(site.state, DOOR)).toMatchObject({ empty: false, uncertain: true });
    expect(presenceView(site.state, DOOR).map((p) => [p.personId, p.uncertain, p.uncertainSince])).toEqual([
      [STAFF.id, true, T0 + 5 * MIN],
      [CONTRACTOR.id, true, T0 + 5 * MIN],
    ]);
    // A second press changes nothing more.
    expect(site.step({ kind: 'exit_request', at: T0 + 6 * MIN, doorId: DOOR })).toEqual([]);

    const r = site.step({
      kind: 'reconcile',
      at: T0 + 10 * MIN,
      doorId: DOOR,
      actor: 'u-manager',
      present: [{ personId: STAFF.id, category: 'staff' }],
      note: 'contractor left with the exit button, confirmed by phone',
    });
    expect(records(r)).toEqual([
      {
        type: 'presence_reconciled',
        at: T0 + 10 * MIN,
        door: DOOR,
        person: null,
        actor: 'u-manager',
        data: {
          present: [{ personId: STAFF.id, category: 'staff' }],
          added: [],
          removed: [CONTRACTOR.id],
          note: 'contractor left with the exit button, confirmed by phone',
        },
      },
    ]);
    expect(presenceView(site.state, DOOR)).toEqual([
      expect.objectContaining({ personId: STAFF.id, since: T0, uncertain: false }),
    ]);
  });

  it('reconciling a room to empty starts the room-secured check; adding a visitor without escort alarms', () => {
    const site = new Site();
    site.in(T0, STAFF);
    const r = site.step({
      kind: 'reconcile',
      at: T0 + 1 * MIN,
      doorId: DOOR,
      actor: 'u-manager',
      present: [
        { personId: STAFF.id, category: 'staff' },
        { personId: V1.id, category: 'visitor', escort: null },
      ],
      note: 'visitor found inside',
    });
    expect(summary(r)).toEqual(['presence_reconciled -', `raise visitor_unescorted ${V1.id}`]);
    expect(records(r)[0]!.data).toMatchObject({ added: [V1.id], removed: [] });
    const r2 = site.step({
      kind: 'reconcile',
      at: T0 + 2 * MIN,
      doorId: DOOR,
      actor: 'u-manager',
      present: [
        { personId: STAFF.id, category: 'staff' },
        { personId: V1.id, category: 'visitor', escort: STAFF.id },
      ],
      note: 'Plain Staff escorts',
    });
    expect(summary(r2)).toEqual([
      'presence_reconciled -',
      expect.stringMatching(`^clear visitor_unescorted ${V1.id}`),
    ]);
    site.step({
      kind: 'reconcile',
      at: T0 + 3 * MIN,
      doorId: DOOR,
      actor: 'u-manager',
      present: [],
      note: 'empty',
    });
    expect(roomStatus(site.state, DOOR)).toMatchObject({ empty: true, unsecuredSince: T0 + 3 * MIN });
  });

  it('badging at the inside reader shows a person is inside: a refused escort is no longer uncertain', () => {
    const site = new Site();
    site.in(T0, V1);
    site.in(T0 + 1 * S, E1);
    site.step({ kind: 'exit_request', at: T0 + 1 * MIN, doorId: DOOR });
    expect(roomStatus(site.state, DOOR).uncertain).toBe(true);
    site.out(T0 + 2 * MIN, E1); // refused
    expect(presenceView(site.state, DOOR).map((p) => [p.personId, p.uncertain])).toEqual([
      [E1.id, false],
      [V1.id, true],
    ]);
  });

  it('a person marked uncertain who badges in again is not a passback violation', () => {
    const site = new Site({ ...SETTINGS, antiPassback: 'hard' });
    site.in(T0, STAFF);
    site.step({ kind: 'exit_request', at: T0 + 1 * MIN, doorId: DOOR });
    const back = site.in(T0 + 2 * MIN, STAFF);
    expect(summary(back)).toEqual([`access ${STAFF.id} in granted granted`, `unlock ${DOOR}`]);
    expect(presenceView(site.state, DOOR)).toEqual([
      expect.objectContaining({ personId: STAFF.id, since: T0 + 2 * MIN, uncertain: false }),
    ]);
  });
});

describe('anti-passback', () => {
  it('off: nothing is checked', () => {
    const site = new Site();
    site.in(T0, STAFF);
    expect(accessOf(site.in(T0 + 1 * MIN, STAFF), STAFF.id)?.passback).toBeUndefined();
  });

  it('soft: a second entry is granted, marked and recorded', () => {
    const site = new Site({ ...SETTINGS, antiPassback: 'soft' });
    site.in(T0, STAFF);
    const a = site.in(T0 + 1 * MIN, STAFF);
    expect(summary(a)).toEqual([
      `access ${STAFF.id} in granted granted`,
      `passback_violation ${STAFF.id}`,
      `unlock ${DOOR}`,
    ]);
    expect(accessOf(a, STAFF.id)?.passback).toBe('violation');
    expect(records(a)[1]!.data).toEqual({
      reader: 'entry',
      direction: 'in',
      mode: 'soft',
      lastPassageAt: T0,
    });
  });

  it('hard: a second entry and an exit of someone not inside are denied', () => {
    const site = new Site({ ...SETTINGS, antiPassback: 'hard', roomSecureMs: 3600 * S });
    site.in(T0, STAFF);
    const a = site.in(T0 + 1 * MIN, STAFF);
    expect(summary(a)).toEqual([`access ${STAFF.id} in denied passback`, `passback_violation ${STAFF.id}`]);
    site.out(T0 + 2 * MIN, STAFF);
    const b = site.out(T0 + 3 * MIN, STAFF);
    expect(summary(b)).toEqual([`access ${STAFF.id} out denied passback`, `passback_violation ${STAFF.id}`]);
    expect(records(b)[1]!.data).toMatchObject({
      direction: 'out',
      mode: 'hard',
      lastPassageAt: T0 + 2 * MIN,
    });
    // Someone never recorded at this door may leave (no history to contradict).
    expect(summary(site.out(T0 + 4 * MIN, CONTRACTOR))).toEqual([
      `access ${CONTRACTOR.id} out granted granted`,
      `unlock ${DOOR}`,
    ]);
  });

  it('timed forgiveness: after forgiveAfterS the read goes through, marked forgiven', () => {
    const site = new Site({ ...SETTINGS, antiPassback: 'hard', passbackForgiveMs: 30 * MIN });
    site.in(T0, STAFF);
    expect(summary(site.in(T0 + 29 * MIN, STAFF))[0]).toBe(`access ${STAFF.id} in denied passback`);
    const a = site.in(T0 + 30 * MIN, STAFF);
    expect(summary(a)).toEqual([`access ${STAFF.id} in granted granted`, `unlock ${DOOR}`]);
    expect(accessOf(a, STAFF.id)?.passback).toBe('forgiven');
    expect(whoIsInside(site.state, DOOR)[0]?.since).toBe(T0 + 30 * MIN);
  });

  it('hard passback applies to visitors too', () => {
    const site = new Site({ ...SETTINGS, antiPassback: 'hard' });
    site.in(T0, E1);
    site.in(T0 + 1 * S, V1);
    expect(summary(site.in(T0 + 2 * S, V1))).toEqual([
      `access ${V1.id} in denied passback`,
      `passback_violation ${V1.id}`,
    ]);
  });
});

describe('room secured', () => {
  it('the last one out, the door closes and relocks in time: room_secured', () => {
    const site = new Site();
    site.in(T0, STAFF);
    const out = site.out(T0 + 10 * MIN, STAFF);
    expect(summary(out)).toEqual([`access ${STAFF.id} out granted granted`, `unlock ${DOOR}`]); // not yet secured
    expect(roomStatus(site.state, DOOR)).toMatchObject({ empty: true, unsecuredSince: T0 + 10 * MIN });
    expect(nextVisitDeadline(site.state, SETTINGS, T0 + 10 * MIN)).toBe(T0 + 11 * MIN);
    const done = site.passThrough(T0 + 10 * MIN);
    expect(summary(done)).toEqual(['room_secured -']);
    expect(records(done)[0]!.data).toEqual({ unsecuredSince: T0 + 10 * MIN, late: false });
    expect(roomStatus(site.state, DOOR)).toMatchObject({
      contact: 'closed',
      lock: 'locked',
      unsecuredSince: null,
    });
    expect(site.tick(T0 + 20 * MIN)).toEqual([]);
    expect(nextVisitDeadline(site.state, SETTINGS, T0 + 20 * MIN)).toBe(
      Date.UTC(2026, 3, 1, 10, 0, 0), // 19:00 in Tokyo: the end of day
    );
  });

  it('left open: room_unsecured at the deadline, cleared by the late room_secured', () => {
    const site = new Site();
    site.in(T0, STAFF);
    site.out(T0 + 10 * MIN, STAFF);
    site.write({
      type: 'door_unlocked',
      at: T0 + 10 * MIN,
      door: DOOR,
      person: null,
      actor: null,
      data: { cause: 'grant' },
    });
    site.door(T0 + 10 * MIN + 2 * S, 'door_opened', { authorized: true });
    site.door(T0 + 10 * MIN + 5 * S, 'door_locked', { cause: 'timeout' }); // relocked, still open
    expect(site.tick(T0 + 11 * MIN - 1)).toEqual([]);
    const t = site.tick(T0 + 11 * MIN);
    expect(t).toEqual([
      {
        kind: 'alarm_raise',
        alarm: 'room_unsecured',
        severity: 'major',
        door: DOOR,
        person: null,
        detail: `room empty since ${new Date(T0 + 10 * MIN).toISOString()} but not closed and locked within 60 s (door open, lock locked)`,
        at: T0 + 11 * MIN,
      },
    ]);
    expect(site.tick(T0 + 12 * MIN)).toEqual([]);
    expect(nextVisitDeadline(site.state, SETTINGS, T0 + 12 * MIN)).toBe(Date.UTC(2026, 3, 1, 10, 0, 0));
    const closed = site.door(T0 + 15 * MIN, 'door_closed');
    const id = site.alarms()[0]!.id;
    expect(summary(closed)).toEqual(['room_secured -', `clear room_unsecured - ${id}`]);
    expect(records(closed)[0]!.data).toEqual({ unsecuredSince: T0 + 10 * MIN, late: true });
  });

  it('someone entering ends the unsecured condition; an empty room opened again must be secured again', () => {
    const site = new Site();
    site.in(T0, STAFF);
    site.out(T0 + 1 * MIN, STAFF);
    site.door(T0 + 1 * MIN + 1 * S, 'door_opened', { authorized: true });
    site.tick(T0 + 2 * MIN + 1 * S);
    expect(site.alarms()).toMatchObject([{ type: 'room_unsecured', cleared: false }]);
    const back = site.in(T0 + 3 * MIN, STAFF);
    expect(summary(back)).toContain(`clear room_unsecured - ${site.alarms()[0]!.id}`);
    site.out(T0 + 4 * MIN, STAFF);
    site.passThrough(T0 + 4 * MIN);
    expect(roomStatus(site.state, DOOR).unsecuredSince).toBeNull();
    // The door of the secured, empty room is opened (exit button pressed by someone unrecorded).
    site.write({
      type: 'door_unlocked',
      at: T0 + 6 * MIN,
      door: DOOR,
      person: null,
      actor: null,
      data: { cause: 'exit_request' },
    });
    expect(roomStatus(site.state, DOOR).unsecuredSince).toBe(T0 + 6 * MIN);
    expect(summary(site.door(T0 + 6 * MIN + 5 * S, 'door_locked', { cause: 'timeout' }))).toEqual([
      'room_secured -',
    ]);
  });
});

describe('visitor badges and the end of day', () => {
  it('a visitor badge not returned by its end raises visitor_badge_not_returned until it is returned', () => {
    const site = new Site();
    site.issueBadge(T0, V1, T0 + 2 * 3600 * S);
    expect(nextVisitDeadline(site.state, SETTINGS, T0)).toBe(T0 + 2 * 3600 * S);
    expect(site.tick(T0 + 2 * 3600 * S - 1)).toEqual([]);
    const t = site.tick(T0 + 2 * 3600 * S);
    expect(summary(t)).toEqual([`raise visitor_badge_not_returned ${V1.id}`]);
    expect(t[0]).toMatchObject({ severity: 'minor', door: null });
    expect(site.tick(T0 + 3 * 3600 * S)).toEqual([]);
    site.write({
      type: 'visitor_badge_returned',
      at: T0 + 4 * 3600 * S,
      door: null,
      person: V1.id,
      actor: 'u-reception',
      data: { badgeId: `b-${V1.id}`, personId: V1.id, note: null },
    });
    const r = site.tick(T0 + 4 * 3600 * S);
    expect(summary(r)).toEqual([`clear visitor_badge_not_returned ${V1.id} ${site.alarms()[0]!.id}`]);
    expect(unreturnedVisitorBadges(site.state)).toEqual([]);
  });

  it('at the end of day: a report of who is still inside and the unreturned badges, once a day', () => {
    const site = new Site();
    const eod = Date.UTC(2026, 3, 1, 10, 0, 0); // 19:00 Tokyo
    site.issueBadge(T0, V1, eod + 5 * 3600 * S);
    site.in(T0, E1);
    site.in(T0 + 1 * S, V1);
    site.in(T0 + 2 * S, STAFF);
    site.step({ kind: 'exit_request', at: T0 + 3 * S, doorId: DOOR });
    expect(nextVisitDeadline(site.state, SETTINGS, T0 + 1 * MIN)).toBe(eod);
    expect(site.tick(eod - 1)).toEqual([]);
    const t = site.tick(eod);
    expect(summary(t)).toEqual(['end_of_day_report -']);
    expect(records(t)[0]!.data).toEqual({
      date: '2026-04-01',
      inside: [
        { door: DOOR, personId: E1.id, category: 'staff', since: T0, escort: null, uncertain: true },
        {
          door: DOOR,
          personId: V1.id,
          category: 'visitor',
          since: T0 + 1 * S,
          escort: E1.id,
          uncertain: true,
        },
        {
          door: DOOR,
          personId: STAFF.id,
          category: 'staff',
          since: T0 + 2 * S,
          escort: null,
          uncertain: true,
        },
      ],
      unreturnedBadges: [
        {
          badgeId: `b-${V1.id}`,
          personId: V1.id,
          hostId: E1.id,
          masked: '••••0001',
          validUntil: eod + 5 * 3600 * S,
          status: 'in_use',
        },
      ],
    });
    expect(site.tick(eod + 1 * MIN)).toEqual([]);
    expect(site.step({ kind: 'end_of_day', at: eod + 2 * MIN })).toEqual([]); // already made today
    expect(nextVisitDeadline(site.state, SETTINGS, eod + 1 * MIN)).toBe(eod + 5 * 3600 * S);
    const next = site.restarted();
    expect(next.state.visits.lastEndOfDay).toBe('2026-04-01');
    expect(parseVisitRecord('end_of_day_report', next.rows.at(-1)!.data)?.ok).toBe(true);
  });

  it('the end_of_day event makes the report early; the time of day is the local one', () => {
    const site = new Site();
    expect(summary(site.step({ kind: 'end_of_day', at: T0 }))).toEqual(['end_of_day_report -']);
    expect(site.tick(Date.UTC(2026, 3, 1, 10, 0, 0))).toEqual([]);
    // The next day's report is due at 19:00 Tokyo the next day.
    expect(nextVisitDeadline(site.state, SETTINGS, T0 + 1 * MIN)).toBe(Date.UTC(2026, 3, 2, 10, 0, 0));
  });

  it('default visitor badge validity: until the end of the day, or midnight when issued after it', () => {
    expect(defaultVisitorBadgeUntil(T0, SETTINGS)).toBe(Date.UTC(2026, 3, 1, 10, 0, 0));
    const evening = Date.UTC(2026, 3, 1, 11, 30, 0); // 20:30 Tokyo
    expect(defaultVisitorBadgeUntil(evening, SETTINGS)).toBe(Date.UTC(2026, 3, 1, 15, 0, 0)); // 24:00 Tokyo
    expect(defaultVisitorBadgeUntil(T0, { ...SETTINGS, badgeValidity: { hours: 4 } })).toBe(
      T0 + 4 * 3600 * S,
    );
    // Daylight saving: 19:00 in New York on the day clocks go forward, and the next one.
    const ny = { ...SETTINGS, timeZone: 'America/New_York' };
    const morning = Date.UTC(2026, 2, 8, 14, 0, 0); // 2026-03-08 10:00 EDT
    expect(defaultVisitorBadgeUntil(morning, ny)).toBe(Date.UTC(2026, 2, 8, 23, 0, 0));
    expect(nextLocalTime(Date.UTC(2026, 2, 8, 3, 0, 0), '19:00', 'America/New_York')).toBe(
      Date.UTC(2026, 2, 8, 23, 0, 0),
    );
  });

  it('settings come from the config section', () => {
    expect(
      visitSettings({
        timeZone: TZ,
        visitors: {
          escortWindowS: 15,
          maxVisitorsPerEscort: 2,
          escortExit: 'refuse',
          handoverWindowS: 300,
          antiPassback: { mode: 'off', forgiveAfterS: 3600 },
          roomSecureS: 60,
          endOfDay: '19:00',
          badgeValidity: 'end_of_day',
        },
      }),
    ).toEqual(SETTINGS);
  });
});

describe('restart in the middle of a visit', () => {
  /** Events after the cut, fed to both the live site and the restarted one. */
  function continuation(at: number): VisitEvent[] {
    const ev = (t: number, p: Who, direction: Direction): VisitEvent => ({
      kind: 'badge',
      at: t,
      doorId: DOOR,
      direction,
      access: {
        reader: direction === 'in' ? 'entry' : 'exit',
        direction,
        result: p.category === 'visitor' && direction === 'in' ? 'denied' : 'granted',
        reason: p.category === 'visitor' && direction === 'in' ? 'escort_required' : 'granted',
        badge: `b-${p.id}`,
        masked: '••••0001',
        format: 'em4100',
        personName: p.name,
        category: p.category,
      },
      person: { id: p.id, category: p.category, mayEscort: p.mayEscort },
    });
    return [
      ev(at + 2 * S, E2, 'in'), // takes the waiting V3 in
      ev(at + 10 * S, E1, 'out'), // refused: V1 inside
      { kind: 'exit_request', at: at + 12 * S, doorId: DOOR }, // … leaves anyway
      ev(at + 1 * MIN, E2, 'out'), // offer: V1 needs an escort
      ev(at + 1 * MIN + 5 * S, V1, 'out'), // handed over to E2
      { kind: 'tick', at: at + 2 * MIN },
      ev(at + 3 * MIN, V3, 'out'),
      ev(at + 3 * MIN + 1 * S, V1, 'out'),
      ev(at + 3 * MIN + 2 * S, E2, 'out'),
      { kind: 'tick', at: at + 10 * MIN },
      { kind: 'tick', at: Date.UTC(2026, 3, 1, 10, 0, 0) }, // end of day
    ];
  }

  function midVisit(): Site {
    const site = new Site({ ...SETTINGS, antiPassback: 'soft', escortExit: 'refuse' });
    site.issueBadge(T0 - 1 * MIN, V1, T0 + 8 * 3600 * S);
    site.in(T0, V1);
    site.in(T0 + 3 * S, E1); // V1 and E1 in
    site.in(T0 + 5 * MIN, V2);
    site.in(T0 + 5 * MIN + 2 * S, E1); // soft passback (E1 inside): still takes V2 in
    site.out(T0 + 20 * MIN, V2);
    site.write({ type: 'exit_request', at: T0 + 21 * MIN, door: DOOR, person: null, actor: null, data: {} });
    site.step({ kind: 'exit_request', at: T0 + 21 * MIN, doorId: DOOR }); // uncertain
    site.in(T0 + 30 * MIN, V3); // waiting for an escort when the power goes
    return site;
  }

  it('folding the journal from scratch gives exactly the live state, and the visit goes on the same', () => {
    const live = midVisit();
    const cut = T0 + 30 * MIN;
    expect(pendingVisitors(live.state, DOOR).map((p) => p.personId)).toEqual([V3.id]);

    const restarted = live.restarted();
    expect(restarted.state).toEqual(live.state);
    expect(JSON.stringify(snapshotDerivedState(restarted.state))).toBe(
      JSON.stringify(snapshotDerivedState(live.state)),
    );
    expect(presenceView(restarted.state, DOOR)).toEqual(presenceView(live.state, DOOR));

    // A snapshot through JSON restores it too.
    const snap = restoreDerivedState(JSON.parse(JSON.stringify(snapshotDerivedState(live.state))));
    expect(snap).toEqual(live.state);

    const events = continuation(cut);
    const a = events.map((e) => live.step(e));
    const b = events.map((e) => restarted.step(e));
    expect(b).toEqual(a);
    expect(restarted.rows).toEqual(live.rows);
    expect(restarted.state).toEqual(live.state);

    // What happened after the restart, as the log shows it.
    expect(a.flatMap(summary)).toEqual([
      `access ${E2.id} in granted granted`,
      `access ${V3.id} in granted granted`,
      `unlock ${DOOR}`,
      `access ${E1.id} out denied escort_exit_refused`,
      `escort_left_unbadged ${E1.id}`,
      'presence_uncertain -',
      `raise visitor_unescorted ${V1.id}`,
      `handover_offered ${E2.id}`,
      `handover ${V1.id}`,
      expect.stringMatching(`^clear visitor_unescorted ${V1.id}`),
      `access ${V3.id} out granted granted`,
      `unlock ${DOOR}`,
      `access ${V1.id} out granted granted`,
      `unlock ${DOOR}`,
      `access ${E2.id} out granted granted`,
      `unlock ${DOOR}`,
      // The room emptied at the last exit; the door rows never came, so it is not secured.
      'raise room_unsecured -',
      // 19:00: V1's badge was due back at 18:00.
      `raise visitor_badge_not_returned ${V1.id}`,
      'end_of_day_report -',
    ]);
    expect(live.inside()).toEqual([]);
    expect(live.alarms().map((x) => [x.type, x.cleared])).toEqual([
      ['visitor_unescorted', true],
      ['room_unsecured', false],
      ['visitor_badge_not_returned', false],
    ]);

    // And at every row of the whole journal: incremental fold = fold from scratch.
    for (let i = 0; i <= live.rows.length; i += 7) {
      const head = live.rows.slice(0, i);
      expect(head.reduce(foldRow, initialDerivedState())).toEqual(foldRows(initialDerivedState(), head));
    }
  });

  it('a restart while a visitor waits keeps the window: the escort still takes them in', () => {
    const live = new Site();
    live.in(T0, V1);
    const restarted = live.restarted();
    const a = restarted.in(T0 + 10 * S, E1);
    expect(summary(a)).toEqual([
      `access ${E1.id} in granted granted`,
      `access ${V1.id} in granted granted`,
      `unlock ${DOOR}`,
    ]);
    // … and a restart past the window closes it at the first tick.
    const late = live.restarted();
    expect(summary(late.tick(T0 + 5 * MIN))).toEqual([`escort_window_expired ${V1.id}`]);
  });
});

describe('decide() and the fold for visitors', () => {
  const person = (category: PersonCategory) => ({
    id: 'p-1',
    displayId: 'V-1',
    name: 'X',
    category,
    validFrom: null,
    validUntil: null,
    active: true,
    lockdownOverride: false,
  });
  const badge = {
    id: 'b-1',
    personId: 'p-1',
    credentialHash: 'h',
    masked: '••••0001',
    status: 'active' as const,
    validFrom: null,
    validUntil: T0 + 1000,
  };
  const input = (category: PersonCategory, over = {}) => ({
    at: T0,
    timeZone: TZ,
    doorId: DOOR,
    direction: 'in' as const,
    badge,
    person: person(category),
    permissions: [],
    schedules: [],
    holidays: [],
    mode: 'normal' as const,
    ...over,
  });

  it('a visitor at an entry reader needs an escort, permission or not; exits are free; other denials first', () => {
    expect(decide(input('visitor'))).toEqual({ granted: false, reason: 'escort_required' });
    expect(
      decide(input('visitor', { permissions: [{ personId: 'p-1', doorId: DOOR, scheduleId: 'always' }] })),
    ).toEqual({ granted: false, reason: 'escort_required' });
    expect(decide(input('visitor', { direction: 'out' }))).toEqual({ granted: true, reason: 'granted' });
    expect(decide(input('visitor', { at: T0 + 1000 }))).toEqual({ granted: false, reason: 'expired' });
    expect(decide(input('visitor', { mode: 'lockdown' }))).toEqual({ granted: false, reason: 'lockdown' });
    expect(decide(input('staff'))).toEqual({ granted: false, reason: 'door_not_permitted' });
  });

  it('counts malformed visit rows as invalid and ignores them', () => {
    // Malformed on purpose: the compiler would refuse them as typed rows.
    const rows = [
      { seq: 1, at: T0, type: 'handover', door: DOOR, person: V1.id, actor: null, data: { to: 5 } },
      {
        seq: 2,
        at: T0,
        type: 'room_secured',
        door: null,
        person: null,
        actor: null,
        data: { unsecuredSince: 1, late: false },
      },
      {
        seq: 3,
        at: T0,
        type: 'presence_uncertain',
        door: DOOR,
        person: null,
        actor: null,
        data: { cause: 'x', persons: [] },
      },
      {
        seq: 4,
        at: T0,
        type: 'passback_violation',
        door: DOOR,
        person: 'p',
        actor: null,
        data: { reader: 'r', direction: 'in', mode: 'soft', lastPassageAt: null },
      },
    ] as RecordRow[];
    const s = foldRows(initialDerivedState(), rows);
    expect(s.invalidRows).toBe(3);
    expect(s.lastSeq).toBe(4);
  });

  it('alarms keep the person they are about, through snapshots too', () => {
    const site = new Site({ ...SETTINGS, escortExit: 'allow_and_alarm' });
    site.in(T0, V1);
    site.in(T0 + 1 * S, E1);
    site.out(T0 + 1 * MIN, E1);
    const [a] = listActiveAlarms(site.state.alarms);
    expect(a).toMatchObject({ type: 'visitor_unescorted', person: V1.id, door: DOOR });
    const restored = restoreDerivedState(JSON.parse(JSON.stringify(snapshotDerivedState(site.state))));
    expect(listActiveAlarms(restored.alarms)[0]?.person).toBe(V1.id);
  });
});

describe('one commit before the unlock (issue #21: unlock_skipped is no longer written)', () => {
  // The runtime (controller/runtime/visits.ts) commits a step's rows at its unlock and at a visitor
  // badge's in-use mark. A step with one unlock, for the event's door, and no in-use mark before it
  // has nothing committed before the unlock's own commit: if that commit fails, no committed grant is
  // left whose door did not open — the case `unlock_skipped` was written for.
  const PEOPLE = [E1, E2, STAFF, CONTRACTOR, V1, V2, V3];
  const OTHER = 'ups-room';
  const step = fc.record({
    who: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
    out: fc.boolean(),
    door: fc.constantFrom(DOOR, OTHER),
    gapS: fc.integer({ min: 0, max: 120 }),
    pass: fc.boolean(),
    refused: fc.boolean(),
  });
  it('every step unlocks at most once, the door of its event, before any in-use mark', () => {
    // Not vacuous: the runs must have unlocked, and marked a visitor badge in use after an unlock.
    let unlocked = 0;
    let marked = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.boolean(), (steps, passback) => {
        const site = new Site({ ...SETTINGS, antiPassback: passback ? 'soft' : 'off' });
        for (const v of [V1, V2, V3]) site.issueBadge(T0 - MIN, v, T0 + 10 * 60 * MIN, [DOOR, OTHER]);
        let at = T0;
        for (const x of steps) {
          at += x.gapS * S;
          const p = PEOPLE[x.who]!;
          const over: Partial<AccessRecord> = x.refused
            ? { result: 'denied', reason: 'door_not_permitted' }
            : {};
          const actions = site.read(at, p, x.out ? 'out' : 'in', over, x.door);
          const unlocks = actions.filter((a) => a.kind === 'unlock');
          expect(unlocks.length).toBeLessThanOrEqual(1);
          for (const u of unlocks) expect(u).toMatchObject({ doorId: x.door });
          const first = actions.findIndex((a) => a.kind === 'unlock');
          const mark = actions.findIndex((a) => a.kind === 'visitor_badge_in_use');
          if (first >= 0 && mark >= 0) expect(mark).toBeGreaterThan(first);
          unlocked += unlocks.length;
          if (mark >= 0) marked++;
          if (unlocks.length > 0 && x.pass && x.door === DOOR) site.passThrough(at);
          site.tick(at + S);
        }
      }),
      {
        numRuns: 300,
        // An escort and then their visitor, so that every run has a badge marked in use after an
        // unlock (random sequences find one only now and then).
        examples: [
          [
            [
              { who: PEOPLE.indexOf(E1), out: false, door: DOOR, gapS: 0, pass: true, refused: false },
              { who: PEOPLE.indexOf(V1), out: false, door: DOOR, gapS: 5, pass: true, refused: false },
            ],
            false,
          ],
        ],
      },
    );
    expect(unlocked).toBeGreaterThan(0);
    expect(marked).toBeGreaterThan(0);
  });
});
