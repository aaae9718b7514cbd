import { describe, expect, it } from 'vitest';
import {
  type Badge,
  type DecisionInput,
  type DecisionReason,
  decide,
  type Person,
  type Schedule,
} from '../../controller/domain/index.js';

// Thursday 2026-11-26, 10:00 in Tokyo.
const AT = Date.UTC(2026, 10, 26, 1, 0);
const HOUR = 3_600_000;

const office: Schedule = {
  id: 'office',
  windows: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '19:00' }],
  includeHolidays: false,
  always: false,
};
const nights: Schedule = {
  id: 'nights',
  windows: [{ days: [0, 1, 2, 3, 4, 5, 6], from: '20:00', to: '24:00' }],
  includeHolidays: true,
  always: false,
};

const person: Person = {
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

function input(over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    at: AT,
    timeZone: 'Asia/Tokyo',
    doorId: 'machine-room',
    direction: 'in',
    badge,
    person,
    permissions: [{ personId: 'p-1', doorId: 'machine-room', scheduleId: 'office' }],
    schedules: [office, nights],
    holidays: [],
    mode: 'normal',
    ...over,
  };
}

function reason(over: Partial<DecisionInput>): DecisionReason {
  return decide(input(over)).reason;
}

describe('decide: entry', () => {
  it('grants a permitted badge within its schedule', () => {
    expect(decide(input())).toEqual({ granted: true, reason: 'granted' });
  });

  it('unknown_badge when no badge record matches', () => {
    expect(decide(input({ badge: undefined, person: undefined }))).toEqual({
      granted: false,
      reason: 'unknown_badge',
    });
  });

  it('badge_lost and badge_revoked', () => {
    expect(reason({ badge: { ...badge, status: 'lost' } })).toBe('badge_lost');
    expect(reason({ badge: { ...badge, status: 'revoked' } })).toBe('badge_revoked');
  });

  it('person_inactive: no person, inactive person, or not the badge holder', () => {
    expect(reason({ person: undefined })).toBe('person_inactive');
    expect(reason({ person: { ...person, active: false } })).toBe('person_inactive');
    expect(reason({ person: { ...person, id: 'p-2' } })).toBe('person_inactive');
  });

  it('not_yet_valid: badge or person validFrom after now (validFrom itself is valid)', () => {
    expect(reason({ badge: { ...badge, validFrom: AT + 1 } })).toBe('not_yet_valid');
    expect(reason({ person: { ...person, validFrom: AT + 1 } })).toBe('not_yet_valid');
    expect(reason({ badge: { ...badge, validFrom: AT } })).toBe('granted');
    expect(reason({ person: { ...person, validFrom: AT } })).toBe('granted');
  });

  it('expired: badge or person validUntil at or before now (validUntil is exclusive)', () => {
    expect(reason({ badge: { ...badge, validUntil: AT } })).toBe('expired');
    expect(reason({ person: { ...person, validUntil: AT - HOUR } })).toBe('expired');
    expect(reason({ badge: { ...badge, validUntil: AT + 1 } })).toBe('granted');
  });

  it('door_not_permitted when no permission names this door', () => {
    expect(reason({ permissions: [] })).toBe('door_not_permitted');
    expect(reason({ permissions: [{ personId: 'p-1', doorId: 'other', scheduleId: 'office' }] })).toBe(
      'door_not_permitted',
    );
    // Another person's permission does not count.
    expect(reason({ permissions: [{ personId: 'p-2', doorId: 'machine-room', scheduleId: 'office' }] })).toBe(
      'door_not_permitted',
    );
  });

  it('outside_schedule outside the window, on a holiday, or with an unknown schedule', () => {
    expect(reason({ at: AT + 10 * HOUR })).toBe('outside_schedule'); // 20:00 Thursday
    expect(reason({ holidays: ['2026-11-26'] })).toBe('outside_schedule');
    expect(reason({ permissions: [{ personId: 'p-1', doorId: 'machine-room', scheduleId: 'gone' }] })).toBe(
      'outside_schedule',
    );
  });

  it('grants when any of several permissions for the door allows the moment', () => {
    const permissions = [
      { personId: 'p-1', doorId: 'machine-room', scheduleId: 'office' },
      { personId: 'p-1', doorId: 'machine-room', scheduleId: 'nights' },
    ];
    expect(reason({ permissions, at: AT + 10 * HOUR })).toBe('granted');
    expect(reason({ permissions, at: AT + 15 * HOUR })).toBe('outside_schedule'); // 01:00 Friday
  });

  it('knows the built-in `always` schedule even when it is not passed in', () => {
    const permissions = [{ personId: 'p-1', doorId: 'machine-room', scheduleId: 'always' }];
    expect(reason({ permissions, schedules: [], at: AT + 15 * HOUR, holidays: ['2026-11-27'] })).toBe(
      'granted',
    );
    // A configured schedule with that id wins.
    const strict: Schedule = { ...office, id: 'always' };
    expect(reason({ permissions, schedules: [strict], at: AT + 15 * HOUR })).toBe('outside_schedule');
  });

  it('lockdown: denied unless the person holds the override, which ignores permission and schedule', () => {
    expect(decide(input({ mode: 'lockdown' }))).toEqual({ granted: false, reason: 'lockdown' });
    const guard = { ...person, lockdownOverride: true };
    expect(decide(input({ mode: 'lockdown', person: guard }))).toEqual({
      granted: true,
      reason: 'override_granted',
    });
    expect(reason({ mode: 'lockdown', person: guard, permissions: [], at: AT + 15 * HOUR })).toBe(
      'override_granted',
    );
    // …but a bad badge is still bad.
    expect(reason({ mode: 'lockdown', person: guard, badge: { ...badge, status: 'lost' } })).toBe(
      'badge_lost',
    );
  });

  it('applies the rules in order', () => {
    const everythingWrong: Partial<DecisionInput> = {
      badge: { ...badge, status: 'lost', validUntil: AT - 1 },
      person: { ...person, active: false, validFrom: AT + 1 },
      permissions: [],
      mode: 'lockdown',
    };
    expect(reason(everythingWrong)).toBe('badge_lost');
    expect(reason({ ...everythingWrong, badge: { ...badge, validUntil: AT - 1 } })).toBe('person_inactive');
    expect(
      reason({
        ...everythingWrong,
        badge: { ...badge, validUntil: AT - 1 },
        person: { ...person, validFrom: AT + 1 },
      }),
    ).toBe('not_yet_valid');
    expect(reason({ ...everythingWrong, badge: { ...badge, validUntil: AT - 1 }, person })).toBe('expired');
    expect(reason({ ...everythingWrong, badge, person })).toBe('lockdown');
    expect(reason({ ...everythingWrong, badge, person, mode: 'normal' })).toBe('door_not_permitted');
  });
});

describe('decide: exit', () => {
  it('lets a valid badge out regardless of permission, schedule and lockdown', () => {
    const out = { direction: 'out' as const };
    expect(decide(input({ ...out, permissions: [] }))).toEqual({ granted: true, reason: 'granted' });
    expect(reason({ ...out, at: AT + 15 * HOUR })).toBe('granted');
    expect(reason({ ...out, holidays: ['2026-11-26'] })).toBe('granted');
    expect(reason({ ...out, mode: 'lockdown' })).toBe('granted');
  });

  it('still refuses unknown, lost, revoked, inactive and expired badges (the exit button still opens)', () => {
    const out = { direction: 'out' as const };
    expect(reason({ ...out, badge: undefined })).toBe('unknown_badge');
    expect(reason({ ...out, badge: { ...badge, status: 'lost' } })).toBe('badge_lost');
    expect(reason({ ...out, badge: { ...badge, status: 'revoked' } })).toBe('badge_revoked');
    expect(reason({ ...out, person: { ...person, active: false } })).toBe('person_inactive');
    expect(reason({ ...out, badge: { ...badge, validFrom: AT + 1 } })).toBe('not_yet_valid');
    expect(reason({ ...out, person: { ...person, validUntil: AT } })).toBe('expired');
  });
});

describe('decide: a door not commissioned (rule 0)', () => {
  it('refuses every badge in both directions before anything else; true or absent is no bar', () => {
    for (const direction of ['in', 'out'] as const) {
      expect(decide(input({ direction, commissioned: false }))).toEqual({
        granted: false,
        reason: 'door_not_commissioned',
      });
      expect(decide(input({ direction, commissioned: false, badge: undefined })).reason).toBe(
        'door_not_commissioned',
      );
      expect(decide(input({ direction, commissioned: false, mode: 'lockdown' })).reason).toBe(
        'door_not_commissioned',
      );
    }
    expect(decide(input({ commissioned: true }))).toEqual({ granted: true, reason: 'granted' });
    expect(decide(input())).toEqual({ granted: true, reason: 'granted' });
  });
});
