import { describe, expect, it } from 'vitest';
import {
  type DoorAction,
  type DoorEvent,
  type DoorState,
  type DoorTiming,
  initialDoorState,
  nextDeadline,
  stepDoor,
} from '../../controller/domain/index.js';

const T0 = 1_000_000;
const TIMING: DoorTiming = { unlockMs: 5000, heldOpenMs: 30_000, preAlarmMs: 10_000, relockOnClose: true };

/** A door driven by a fake clock: events in, state and the actions of each step kept. */
class Door {
  state: DoorState;
  constructor(
    readonly timing: DoorTiming = { ...TIMING },
    state?: DoorState,
  ) {
    this.state = state ?? initialDoorState(T0, false);
  }
  step(event: DoorEvent): DoorAction[] {
    const before = structuredClone(this.state);
    const { state, actions } = stepDoor(this.state, event, this.timing);
    expect(this.state).toEqual(before); // the input state is never modified
    this.state = state;
    return actions;
  }
  grant(at: number) {
    return this.step({ kind: 'grant', at });
  }
  exit(at: number) {
    return this.step({ kind: 'exit_request', at });
  }
  open(at: number) {
    return this.step({ kind: 'contact', open: true, at });
  }
  close(at: number) {
    return this.step({ kind: 'contact', open: false, at });
  }
  tick(at: number) {
    return this.step({ kind: 'tick', at });
  }
  deadline() {
    return nextDeadline(this.state, this.timing);
  }
}

const unlock = (cause: string) => [
  { kind: 'lock', locked: false, cause },
  { kind: 'record', type: 'door_unlocked', data: { cause } },
];
const relock = (cause: string) => [
  { kind: 'lock', locked: true, cause },
  { kind: 'record', type: 'door_locked', data: { cause } },
];
const FORCED = {
  kind: 'alarm_raise',
  alarm: 'forced_open',
  severity: 'critical',
  detail: expect.any(String),
};
const HELD = { kind: 'alarm_raise', alarm: 'held_open', severity: 'major', detail: expect.any(String) };

describe('initialDoorState', () => {
  it('starts locked, with the contact as known', () => {
    expect(initialDoorState(T0, false)).toEqual({
      lock: 'locked',
      contact: 'closed',
      unlockedUntil: null,
      openingAuthorized: false,
      openedAt: null,
      held: 'none',
      buzzer: false,
      tamper: false,
      mode: 'normal',
      forcedActive: false,
    });
    expect(initialDoorState(T0, undefined).contact).toBe('unknown');
    expect(initialDoorState(T0, true)).toMatchObject({ contact: 'open', openedAt: T0, lock: 'locked' });
    expect(initialDoorState(T0, false, { mode: 'lockdown' }).mode).toBe('lockdown');
  });

  it('has no deadline when locked and closed', () => {
    expect(nextDeadline(initialDoorState(T0, false), TIMING)).toBeNull();
  });
});

describe('grant → open → close → relock', () => {
  it('unlocks, records an authorised opening, relocks as the door closes', () => {
    const d = new Door();
    expect(d.grant(T0)).toEqual(unlock('grant'));
    expect(d.state).toMatchObject({ lock: 'unlocked', unlockedUntil: T0 + 5000 });
    expect(d.deadline()).toBe(T0 + 5000);

    expect(d.open(T0 + 2000)).toEqual([{ kind: 'record', type: 'door_opened', data: { authorized: true } }]);
    expect(d.state).toMatchObject({ contact: 'open', openingAuthorized: true, openedAt: T0 + 2000 });
    // The unlock ends before the pre-alarm is due.
    expect(d.deadline()).toBe(T0 + 5000);

    expect(d.close(T0 + 4000)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      ...relock('closed'),
    ]);
    expect(d.state).toMatchObject({ lock: 'locked', contact: 'closed', unlockedUntil: null, openedAt: null });
    expect(d.deadline()).toBeNull();
    expect(d.tick(T0 + 5000)).toEqual([]);
  });

  it('without relockOnClose, stays unlocked until the unlock time ends', () => {
    const d = new Door({ ...TIMING, relockOnClose: false });
    d.grant(T0);
    d.open(T0 + 1000);
    expect(d.close(T0 + 2000)).toEqual([{ kind: 'record', type: 'door_closed', data: {} }]);
    expect(d.state.lock).toBe('unlocked');
    expect(d.deadline()).toBe(T0 + 5000);
    expect(d.tick(T0 + 5000)).toEqual(relock('timeout'));
  });

  it('relocks at the unlock time even if the door is still open, then closing only records', () => {
    const d = new Door();
    d.grant(T0);
    d.open(T0 + 1000);
    expect(d.tick(T0 + 5000)).toEqual(relock('timeout'));
    expect(d.state).toMatchObject({ lock: 'locked', contact: 'open', openingAuthorized: true });
    expect(d.close(T0 + 8000)).toEqual([{ kind: 'record', type: 'door_closed', data: {} }]);
  });
});

describe('unlock TIMING', () => {
  it('relocks when the unlock time passes and the door was never opened', () => {
    const d = new Door();
    d.grant(T0);
    expect(d.tick(T0 + 4999)).toEqual([]);
    expect(d.state.lock).toBe('unlocked');
    expect(d.tick(T0 + 5000)).toEqual(relock('timeout'));
    expect(d.state).toMatchObject({ lock: 'locked', unlockedUntil: null });
    expect(d.deadline()).toBeNull();
  });

  it('a second grant extends the unlock without a second lock action', () => {
    const d = new Door();
    d.grant(T0);
    expect(d.grant(T0 + 3000)).toEqual([]);
    expect(d.state.unlockedUntil).toBe(T0 + 8000);
    expect(d.deadline()).toBe(T0 + 8000);
    expect(d.tick(T0 + 5000)).toEqual([]);
    expect(d.tick(T0 + 8000)).toEqual(relock('timeout'));
  });

  it('a grant never shortens the unlock', () => {
    const d = new Door({ ...TIMING, unlockMs: 5000 });
    d.grant(T0);
    const shorter = stepDoor(d.state, { kind: 'grant', at: T0 - 1000 }, d.timing);
    expect(shorter.state.unlockedUntil).toBe(T0 + 5000);
  });

  it('a late tick is caught up by the next event', () => {
    const d = new Door();
    d.grant(T0);
    // No tick at T0+5000; the next grant arrives later: relock is not needed, the unlock is extended.
    expect(d.grant(T0 + 7000)).toEqual([]);
    expect(d.state.unlockedUntil).toBe(T0 + 12_000);
    // A tamper event long after catches up the relock first.
    expect(d.step({ kind: 'tamper', active: false, at: T0 + 20_000 })).toEqual(relock('timeout'));
  });
});

describe('forced open', () => {
  it('opening while locked without a grant raises forced_open at once', () => {
    const d = new Door();
    expect(d.open(T0)).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: false } },
      FORCED,
    ]);
    expect(d.state).toMatchObject({ forcedActive: true, openingAuthorized: false, held: 'none' });
    // A forced door is not also "held open".
    expect(d.deadline()).toBeNull();
    expect(d.tick(T0 + 60_000)).toEqual([]);
  });

  it('the forced condition clears when the door closes', () => {
    const d = new Door();
    d.open(T0);
    expect(d.close(T0 + 3000)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      { kind: 'alarm_condition_cleared', alarm: 'forced_open' },
    ]);
    expect(d.state.forcedActive).toBe(false);
    // Forced again: a new alarm.
    expect(d.open(T0 + 10_000)).toContainEqual(FORCED);
  });

  it('opening while unlocked by a grant is NOT forced', () => {
    const d = new Door();
    d.grant(T0);
    const actions = d.open(T0 + 4999);
    expect(actions).not.toContainEqual(FORCED);
    expect(d.state.forcedActive).toBe(false);
  });

  it('opening after the unlock ended is forced', () => {
    const d = new Door();
    d.grant(T0);
    d.tick(T0 + 5000);
    expect(d.open(T0 + 6000)).toContainEqual(FORCED);
  });

  it('the opening is judged against the lock as driven: a late relock tick does not make it forced', () => {
    const d = new Door();
    d.grant(T0);
    // The relock tick is late; the lock output was still released when the door opened.
    const actions = d.open(T0 + 5200);
    expect(actions).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: true } },
      ...relock('timeout'),
    ]);
  });

  it('opening again after a close while still unlocked (relockOnClose off) is authorised', () => {
    const d = new Door({ ...TIMING, relockOnClose: false });
    d.grant(T0);
    d.open(T0 + 500);
    d.close(T0 + 1000);
    expect(d.open(T0 + 2000)).toEqual([{ kind: 'record', type: 'door_opened', data: { authorized: true } }]);
  });
});

describe('exit request', () => {
  it('unlocks; the opening that follows is authorised', () => {
    const d = new Door();
    expect(d.exit(T0)).toEqual(unlock('exit_request'));
    expect(d.open(T0 + 1000)).toEqual([{ kind: 'record', type: 'door_opened', data: { authorized: true } }]);
    expect(d.close(T0 + 3000)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      ...relock('closed'),
    ]);
  });

  it('still unlocks in lockdown (life safety)', () => {
    const d = new Door();
    d.step({ kind: 'mode', mode: 'lockdown', at: T0 });
    expect(d.exit(T0 + 1000)).toEqual(unlock('exit_request'));
    expect(d.open(T0 + 2000)).not.toContainEqual(FORCED);
  });
});

describe('held open', () => {
  it('pre-alarm, then alarm, then closing clears the condition and the buzzer', () => {
    const d = new Door();
    d.grant(T0);
    d.open(T0 + 1000);
    const opened = T0 + 1000;
    expect(d.tick(T0 + 5000)).toEqual(relock('timeout'));
    expect(d.deadline()).toBe(opened + 20_000);

    expect(d.tick(opened + 19_999)).toEqual([]);
    expect(d.tick(opened + 20_000)).toEqual([
      { kind: 'buzzer', on: true },
      { kind: 'record', type: 'held_open_prealarm', data: {} },
    ]);
    expect(d.state).toMatchObject({ held: 'prealarm', buzzer: true });
    expect(d.deadline()).toBe(opened + 30_000);

    expect(d.tick(opened + 30_000)).toEqual([HELD]);
    expect(d.state.held).toBe('alarm');
    expect(d.deadline()).toBeNull();
    expect(d.tick(opened + 90_000)).toEqual([]);

    expect(d.close(opened + 95_000)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      { kind: 'buzzer', on: false },
      { kind: 'alarm_condition_cleared', alarm: 'held_open' },
    ]);
    expect(d.state).toMatchObject({ held: 'none', buzzer: false, contact: 'closed' });
  });

  it('closing during the pre-alarm silences the buzzer without an alarm', () => {
    const d = new Door();
    d.grant(T0);
    d.open(T0);
    d.tick(T0 + 20_000);
    expect(d.close(T0 + 25_000)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      { kind: 'buzzer', on: false },
    ]);
  });

  it('a late event raises what fell due, in order, before the close clears it', () => {
    const d = new Door();
    d.grant(T0);
    d.open(T0);
    d.tick(T0 + 5000);
    expect(d.close(T0 + 40_000)).toEqual([
      { kind: 'buzzer', on: true },
      { kind: 'record', type: 'held_open_prealarm', data: {} },
      HELD,
      { kind: 'record', type: 'door_closed', data: {} },
      { kind: 'buzzer', on: false },
      { kind: 'alarm_condition_cleared', alarm: 'held_open' },
    ]);
  });

  it('without a pre-alarm the buzzer starts with the alarm', () => {
    const d = new Door({ ...TIMING, preAlarmMs: 0 });
    d.grant(T0);
    d.open(T0);
    d.tick(T0 + 5000);
    expect(d.deadline()).toBe(T0 + 30_000);
    expect(d.tick(T0 + 30_000)).toEqual([{ kind: 'buzzer', on: true }, HELD]);
  });

  it('a pre-alarm longer than the hold time warns from the opening', () => {
    const d = new Door({ ...TIMING, heldOpenMs: 5000, preAlarmMs: 10_000 });
    d.grant(T0);
    expect(d.open(T0)).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: true } },
      { kind: 'buzzer', on: true },
      { kind: 'record', type: 'held_open_prealarm', data: {} },
    ]);
  });
});

describe('tamper', () => {
  it('raises door_tamper when active and clears the condition when restored, once each', () => {
    const d = new Door();
    expect(d.step({ kind: 'tamper', active: true, at: T0 })).toEqual([
      { kind: 'alarm_raise', alarm: 'door_tamper', severity: 'major', detail: expect.any(String) },
    ]);
    expect(d.state.tamper).toBe(true);
    expect(d.step({ kind: 'tamper', active: true, at: T0 + 1 })).toEqual([]);
    expect(d.step({ kind: 'tamper', active: false, at: T0 + 2 })).toEqual([
      { kind: 'alarm_condition_cleared', alarm: 'door_tamper' },
    ]);
    expect(d.step({ kind: 'tamper', active: false, at: T0 + 3 })).toEqual([]);
  });
});

describe('mode', () => {
  it('switching to lockdown relocks at once', () => {
    const d = new Door();
    d.grant(T0);
    expect(d.step({ kind: 'mode', mode: 'lockdown', at: T0 + 1000 })).toEqual(relock('lockdown'));
    expect(d.state).toMatchObject({ mode: 'lockdown', lock: 'locked', unlockedUntil: null });
    expect(d.deadline()).toBeNull();
  });

  it('switching while locked changes only the mode', () => {
    const d = new Door();
    expect(d.step({ kind: 'mode', mode: 'lockdown', at: T0 })).toEqual([]);
    expect(d.step({ kind: 'mode', mode: 'normal', at: T0 + 1 })).toEqual([]);
    expect(d.state.mode).toBe('normal');
  });

  it('an override grant in lockdown unlocks as usual', () => {
    const d = new Door();
    d.step({ kind: 'mode', mode: 'lockdown', at: T0 });
    expect(d.grant(T0 + 1000)).toEqual(unlock('grant'));
  });
});

describe('contact unknown at start', () => {
  it('a first reading of "open" is recorded, never forced, and times held-open from that reading', () => {
    const d = new Door(TIMING, initialDoorState(T0, undefined));
    expect(d.deadline()).toBeNull();
    expect(d.open(T0 + 100)).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: false, initial: true } },
    ]);
    expect(d.state).toMatchObject({ contact: 'open', forcedActive: false, openedAt: T0 + 100 });
    expect(d.deadline()).toBe(T0 + 100 + 20_000);
    d.tick(T0 + 100 + 20_000);
    expect(d.tick(T0 + 100 + 30_000)).toEqual([HELD]);
    d.close(T0 + 100 + 40_000);
    // Now a real closed → open while locked is forced.
    expect(d.open(T0 + 100 + 50_000)).toContainEqual(FORCED);
  });

  it('a first reading of "closed" records nothing', () => {
    const d = new Door(TIMING, initialDoorState(T0, undefined));
    expect(d.close(T0 + 100)).toEqual([]);
    expect(d.state.contact).toBe('closed');
  });

  it('a door known open at start times held-open from the start', () => {
    const d = new Door(TIMING, initialDoorState(T0, true));
    expect(d.deadline()).toBe(T0 + 20_000);
    expect(d.open(T0 + 50)).toEqual([]); // the board's first report repeats what we know
  });
});

describe('restart with open alarm conditions', () => {
  it('the first contact reading clears forced and held conditions if the door is closed', () => {
    const s = initialDoorState(T0, false, { openConditions: ['forced_open', 'held_open'] });
    expect(s.contact).toBe('unknown');
    const d = new Door(TIMING, s);
    expect(d.close(T0 + 10)).toEqual([
      { kind: 'alarm_condition_cleared', alarm: 'held_open' },
      { kind: 'alarm_condition_cleared', alarm: 'forced_open' },
    ]);
  });

  it('a door still open keeps its condition without a new alarm, and clears it when it closes', () => {
    const d = new Door(TIMING, initialDoorState(T0, undefined, { openConditions: ['forced_open'] }));
    expect(d.open(T0 + 10)).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: false, initial: true } },
    ]);
    expect(d.deadline()).toBeNull();
    expect(d.close(T0 + 5000)).toContainEqual({ kind: 'alarm_condition_cleared', alarm: 'forced_open' });
  });

  it('a held-open door still open turns the buzzer back on', () => {
    const d = new Door(TIMING, initialDoorState(T0, undefined, { openConditions: ['held_open'] }));
    expect(d.open(T0 + 10)).toEqual([
      { kind: 'record', type: 'door_opened', data: { authorized: false, initial: true } },
      { kind: 'buzzer', on: true },
    ]);
    expect(d.close(T0 + 20)).toEqual([
      { kind: 'record', type: 'door_closed', data: {} },
      { kind: 'buzzer', on: false },
      { kind: 'alarm_condition_cleared', alarm: 'held_open' },
    ]);
  });

  it('a restored tamper condition clears on the first normal reading', () => {
    const d = new Door(TIMING, initialDoorState(T0, false, { openConditions: ['door_tamper'] }));
    expect(d.state.contact).toBe('closed');
    expect(d.step({ kind: 'tamper', active: false, at: T0 + 10 })).toEqual([
      { kind: 'alarm_condition_cleared', alarm: 'door_tamper' },
    ]);
  });
});

describe('nextDeadline', () => {
  it('is the earliest of relock, pre-alarm and held alarm', () => {
    const d = new Door({ ...TIMING, unlockMs: 60_000 });
    d.grant(T0);
    expect(d.deadline()).toBe(T0 + 60_000);
    d.open(T0 + 1000);
    expect(d.deadline()).toBe(T0 + 1000 + 20_000); // pre-alarm before the relock
    d.tick(T0 + 21_000);
    expect(d.deadline()).toBe(T0 + 1000 + 30_000); // held alarm
    d.tick(T0 + 31_000);
    expect(d.deadline()).toBe(T0 + 60_000); // relock
    d.tick(T0 + 60_000);
    expect(d.deadline()).toBeNull();
  });

  it('every deadline, when ticked, produces an action', () => {
    const d = new Door();
    d.grant(T0);
    d.open(T0 + 1000);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const at = d.deadline();
      if (at === null) break;
      seen.push(at);
      expect(d.tick(at).length).toBeGreaterThan(0);
    }
    expect(seen).toEqual([T0 + 5000, T0 + 21_000, T0 + 31_000]);
  });
});
