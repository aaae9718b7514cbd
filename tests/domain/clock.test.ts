/**
 * The clock in the pure rules: decide() under each `clock.whenUnsynchronised` policy, the step
 * detector, and a door's running deadlines moved by a step (controller/domain/clock.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  type Badge,
  type ClockTrust,
  clockRestriction,
  clockStep,
  type DecisionInput,
  type DecisionReason,
  type DoorTiming,
  decide,
  foldRows,
  initialDerivedState,
  initialDoorState,
  nextDeadline,
  type Person,
  type RecordRow,
  type Schedule,
  shiftDoorState,
  stepDoor,
  UnsynchronisedPolicy,
} from '../../controller/domain/index.js';

// Thursday 2026-11-26, 10:00 in Tokyo: inside the office window.
const AT = Date.UTC(2026, 10, 26, 1, 0);
const DAY = 86_400_000;

const office: Schedule = {
  id: 'office',
  windows: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '19:00' }],
  includeHolidays: false,
  always: false,
};
const allHours: Schedule = { id: 'all-hours', windows: [], includeHolidays: true, always: true };

const staff: Person = {
  id: 'p-1',
  displayId: 'S-0001',
  name: '山田 太郎',
  category: 'staff',
  validFrom: null,
  validUntil: null,
  active: true,
  lockdownOverride: false,
};
const badge: Badge = {
  id: 'b-1',
  personId: 'p-1',
  credentialHash: 'ab'.repeat(32),
  masked: '••••3D4E',
  status: 'active',
  validFrom: null,
  validUntil: null,
};

const unsynced = (whenUnsynchronised: UnsynchronisedPolicy): ClockTrust => ({
  synchronised: false,
  whenUnsynchronised,
});

function input(over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    at: AT,
    timeZone: 'Asia/Tokyo',
    doorId: 'machine-room',
    direction: 'in',
    badge,
    person: staff,
    permissions: [{ personId: 'p-1', doorId: 'machine-room', scheduleId: 'always' }],
    schedules: [office, allHours],
    holidays: [],
    mode: 'normal',
    ...over,
  };
}

const reason = (over: Partial<DecisionInput>): DecisionReason => decide(input(over)).reason;
const onSchedule = (scheduleId: string) => [{ personId: 'p-1', doorId: 'machine-room', scheduleId }];

describe('clockRestriction: the policy is in force only while the clock is not known to be synchronised', () => {
  it('synchronised: no restriction whatever the policy', () => {
    for (const p of UnsynchronisedPolicy.options)
      expect(clockRestriction({ synchronised: true, whenUnsynchronised: p })).toBeNull();
  });
  it('not synchronised, or nothing can tell: the policy (normal restricts nothing)', () => {
    expect(clockRestriction(unsynced('staff_always_only'))).toBe('staff_always_only');
    expect(clockRestriction({ synchronised: null, whenUnsynchronised: 'deny_entry' })).toBe('deny_entry');
    expect(clockRestriction(unsynced('normal'))).toBeNull();
    expect(clockRestriction(undefined)).toBeNull();
  });
});

describe('decide with an unsynchronised clock', () => {
  it('normal: schedules and validity dates decide as usual', () => {
    const clock = unsynced('normal');
    expect(reason({ clock, permissions: onSchedule('office') })).toBe('granted');
    expect(reason({ clock, permissions: onSchedule('office'), at: AT + 10 * 3_600_000 })).toBe(
      'outside_schedule',
    );
    expect(reason({ clock, person: { ...staff, validUntil: AT + DAY } })).toBe('granted');
  });

  it('a synchronised clock is not restricted by any policy', () => {
    const clock: ClockTrust = { synchronised: true, whenUnsynchronised: 'deny_entry' };
    expect(reason({ clock, permissions: onSchedule('office') })).toBe('granted');
  });

  it('time_independent_only: an every-time permission without validity dates still opens', () => {
    const clock = unsynced('time_independent_only');
    expect(decide(input({ clock }))).toEqual({ granted: true, reason: 'granted' });
    expect(reason({ clock, permissions: onSchedule('all-hours') })).toBe('granted');
    const contractor: Person = { ...staff, category: 'contractor' };
    expect(reason({ clock, person: contractor })).toBe('granted');
  });

  it('time_independent_only: a schedule or a validity date refuses, inside its window or not', () => {
    const clock = unsynced('time_independent_only');
    // Inside the office window by this clock: still refused, the window is read on an untrusted clock.
    expect(decide(input({ clock, permissions: onSchedule('office') }))).toEqual({
      granted: false,
      reason: 'clock_unsynchronised',
    });
    expect(reason({ clock, person: { ...staff, validUntil: AT + DAY } })).toBe('clock_unsynchronised');
    expect(reason({ clock, person: { ...staff, validFrom: AT - DAY } })).toBe('clock_unsynchronised');
    expect(reason({ clock, badge: { ...badge, validUntil: AT + DAY } })).toBe('clock_unsynchronised');
    expect(reason({ clock, badge: { ...badge, validFrom: AT - DAY } })).toBe('clock_unsynchronised');
    // One every-time permission among others is enough.
    expect(reason({ clock, permissions: [...onSchedule('office'), ...onSchedule('always')] })).toBe(
      'granted',
    );
  });

  it('staff_always_only: staff on an every-time permission only; contractors and visitors refused', () => {
    const clock = unsynced('staff_always_only');
    expect(reason({ clock })).toBe('granted');
    expect(reason({ clock, person: { ...staff, category: 'contractor' } })).toBe('clock_unsynchronised');
    expect(reason({ clock, person: { ...staff, category: 'visitor' } })).toBe('clock_unsynchronised');
    expect(reason({ clock, permissions: onSchedule('office') })).toBe('clock_unsynchronised');
  });

  it('deny_entry: no entry on a badge, not even an every-time permission', () => {
    expect(reason({ clock: unsynced('deny_entry') })).toBe('clock_unsynchronised');
  });

  it('an unknown sync state (null) counts as not synchronised', () => {
    expect(
      reason({
        clock: { synchronised: null, whenUnsynchronised: 'staff_always_only' },
        permissions: onSchedule('office'),
      }),
    ).toBe('clock_unsynchronised');
  });

  it('exits are never refused by a clock policy', () => {
    for (const p of UnsynchronisedPolicy.options) {
      const out = decide(input({ clock: unsynced(p), direction: 'out', permissions: onSchedule('office') }));
      expect(out, p).toEqual({ granted: true, reason: 'granted' });
      expect(
        reason({
          clock: unsynced(p),
          direction: 'out',
          person: { ...staff, category: 'contractor', validUntil: AT + DAY },
        }),
      ).toBe('granted');
    }
  });

  it('reasons that hold at any time come first: unknown, lost, no permission, expired by this clock', () => {
    const clock = unsynced('deny_entry');
    expect(reason({ clock, badge: undefined, person: undefined })).toBe('unknown_badge');
    expect(reason({ clock, badge: { ...badge, status: 'lost' } })).toBe('badge_lost');
    expect(reason({ clock: unsynced('staff_always_only'), permissions: [] })).toBe('door_not_permitted');
    expect(reason({ clock, person: { ...staff, validUntil: AT } })).toBe('expired');
  });

  it('visitors: escort_required when their grant would not lean on the clock, else refused', () => {
    const visitor: Person = { ...staff, category: 'visitor' };
    expect(reason({ clock: unsynced('time_independent_only'), person: visitor })).toBe('escort_required');
    expect(
      reason({
        clock: unsynced('time_independent_only'),
        person: visitor,
        badge: { ...badge, validUntil: AT + 1000 },
      }),
    ).toBe('clock_unsynchronised');
  });

  it('lockdown: an override opens only if it does not lean on the clock; others still get lockdown', () => {
    const holder: Person = { ...staff, lockdownOverride: true };
    const mode = 'lockdown' as const;
    expect(reason({ mode, clock: unsynced('staff_always_only'), person: holder, permissions: [] })).toBe(
      'override_granted',
    );
    expect(
      reason({ mode, clock: unsynced('staff_always_only'), person: { ...holder, validUntil: AT + DAY } }),
    ).toBe('clock_unsynchronised');
    expect(reason({ mode, clock: unsynced('deny_entry'), person: holder })).toBe('clock_unsynchronised');
    expect(reason({ mode, clock: unsynced('deny_entry') })).toBe('lockdown');
  });
});

describe('clockStep: the wall clock against the monotonic clock', () => {
  const prev = { wall: AT, mono: 5_000 };
  it('no step while both clocks move together (within the threshold)', () => {
    expect(clockStep(prev, { wall: AT + 1000, mono: 6_000 }, 2000)).toBeNull();
    expect(clockStep(prev, { wall: AT + 2_900, mono: 6_000 }, 2000)).toBeNull();
    expect(clockStep(prev, { wall: AT - 900, mono: 6_000 }, 2000)).toBeNull();
  });
  it('a step forward or back: the old clock carried forward, the new time, the difference', () => {
    expect(clockStep(prev, { wall: AT + 3_601_000, mono: 6_000 }, 2000)).toEqual({
      from: AT + 1000,
      to: AT + 3_601_000,
      stepMs: 3_600_000,
    });
    expect(clockStep(prev, { wall: AT - DAY, mono: 6_000 }, 2000)).toEqual({
      from: AT + 1000,
      to: AT - DAY,
      stepMs: -DAY - 1000,
    });
  });
});

describe('a door across a clock step', () => {
  const timing: DoorTiming = { unlockMs: 5000, heldOpenMs: 30_000, preAlarmMs: 10_000, relockOnClose: true };

  it('a step back: the unlock still ends 5 s after the grant, not an hour later', () => {
    let s = stepDoor(initialDoorState(AT, false), { kind: 'grant', at: AT }, timing).state;
    const back = -3_600_000;
    // Without the shift, the door's deadline would lie an hour and 5 s ahead of the new clock.
    expect(nextDeadline(s, timing)! - (AT + 1000 + back)).toBe(3_604_000);
    s = shiftDoorState(s, back);
    expect(nextDeadline(s, timing)).toBe(AT + 5000 + back);
    const { state, actions } = stepDoor(s, { kind: 'tick', at: AT + 5000 + back }, timing);
    expect(state.lock).toBe('locked');
    expect(actions).toContainEqual({ kind: 'lock', locked: true, cause: 'timeout' });
  });

  it('a step forward: a door opened a moment ago raises no held-open alarm', () => {
    let s = initialDoorState(AT, false);
    s = stepDoor(s, { kind: 'grant', at: AT }, timing).state;
    s = stepDoor(s, { kind: 'contact', open: true, at: AT + 1000 }, timing).state;
    const forward = 3_600_000;
    s = shiftDoorState(s, forward);
    const { actions } = stepDoor(s, { kind: 'tick', at: AT + 2000 + forward }, timing);
    expect(actions.some((a) => a.kind === 'alarm_raise')).toBe(false);
    // …and the timers still run from the grant and the opening, in the new time.
    expect(nextDeadline(s, timing)).toBe(AT + 5000 + forward);
    const late = stepDoor(s, { kind: 'tick', at: AT + 1000 + forward + 30_000 }, timing).actions;
    expect(late).toContainEqual(expect.objectContaining({ kind: 'alarm_raise', alarm: 'held_open' }));
  });

  it('a locked, closed door has nothing to move', () => {
    const s = initialDoorState(AT, false);
    expect(shiftDoorState(s, 12_345)).toEqual(s);
  });
});

describe('the visits across a clock step (the fold of clock_adjusted)', () => {
  const door = 'machine-room';
  let seq = 0;
  const row = (
    at: number,
    type: string,
    data: Record<string, unknown>,
    person: string | null = null,
  ): RecordRow => ({ seq: ++seq, at, type, door, person, actor: null, data }) as RecordRow;
  const access = (at: number, person: string, direction: 'in' | 'out', extra: Record<string, unknown> = {}) =>
    row(
      at,
      'access',
      {
        reader: direction === 'in' ? 'entry' : 'exit',
        direction,
        result: 'granted',
        reason: 'granted',
        badge: 'b',
        masked: '••••0001',
        format: 'em4100',
        category: 'staff',
        ...extra,
      },
      person,
    );
  const back = -3_600_000;

  it('a waiting visitor, an escort window and an empty room keep their time to run, in the new time', () => {
    const state = foldRows(initialDerivedState(), [
      access(AT, 'p-1', 'in', { escortUntil: AT + 15_000 }),
      access(AT + 1000, 'p-1', 'out'),
      access(AT + 2000, 'v-1', 'in', {
        result: 'denied',
        reason: 'escort_required',
        category: 'visitor',
        awaitingEscortUntil: AT + 17_000,
      }),
      access(AT + 3000, 'p-2', 'in', { escortUntil: AT + 18_000 }),
      row(AT + 4000 + back, 'clock_adjusted', {
        from: AT + 4000,
        to: AT + 4000 + back,
        stepMs: back,
        source: 'unknown',
        synchronised: false,
      }),
    ]);
    expect(state.invalidRows).toBe(0);
    expect(state.visits.pending[door]![0]!.until).toBe(AT + 17_000 + back);
    expect(state.visits.escortWindows[door]![0]!.until).toBe(AT + 18_000 + back);
    // The room emptied at AT + 1000 and was filled again by p-2; a later emptiness would start anew.
    const empty = foldRows(state, [access(AT + 5000 + back, 'p-2', 'out')]);
    expect(empty.visits.rooms[door]!.unsecuredSince).toBe(AT + 5000 + back);
  });

  it('a step forward does not end a visitor’s wait at once', () => {
    const state = foldRows(initialDerivedState(), [
      access(AT, 'v-1', 'in', {
        result: 'denied',
        reason: 'escort_required',
        category: 'visitor',
        awaitingEscortUntil: AT + 15_000,
      }),
      row(AT + 1000 + 3_600_000, 'clock_adjusted', {
        from: AT + 1000,
        to: AT + 1000 + 3_600_000,
        stepMs: 3_600_000,
        source: 'systemd-timesyncd',
        synchronised: true,
      }),
    ]);
    expect(state.visits.pending[door]![0]!.until).toBe(AT + 15_000 + 3_600_000);
  });

  it('an empty, unsecured room’s check moves with the step', () => {
    const state = foldRows(initialDerivedState(), [
      row(AT, 'door_unlocked', { cause: 'grant' }),
      row(AT + 1000 + back, 'clock_adjusted', {
        from: AT + 1000,
        to: AT + 1000 + back,
        stepMs: back,
        source: 'chrony',
        synchronised: true,
      }),
    ]);
    expect(state.visits.rooms[door]!.unsecuredSince).toBe(AT + back);
  });
});
