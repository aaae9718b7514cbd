import { describe, expect, it } from 'vitest';
import type { DoorConfig } from '../../controller/config/schema.js';
import { isLockedAt, lockOutputLevel, pinLevel, secureLevels } from '../../hardware/index.js';

describe('lock output level', () => {
  it.each([
    // failMode, wantLocked, energised, volts active-high, volts active-low
    ['fail-secure', true, false, false, true],
    ['fail-secure', false, true, true, false],
    ['fail-safe', true, true, true, false],
    ['fail-safe', false, false, false, true],
  ] as const)(
    '%s, locked=%s → energised=%s (pin %s / %s active-low)',
    (failMode, wantLocked, energised, high, low) => {
      const lock = { failMode, pin: 22, activeLow: false };
      expect(lockOutputLevel(lock, wantLocked)).toBe(energised);
      expect(isLockedAt(lock, energised)).toBe(wantLocked);
      expect(pinLevel(energised, false)).toBe(high);
      expect(pinLevel(energised, true)).toBe(low);
    },
  );

  it('secureLevels locks every lock and silences every buzzer', () => {
    const doors = [
      {
        id: 'machine-room',
        lock: { pin: 22, activeLow: true, failMode: 'fail-secure' },
        buzzer: { pin: 23, activeLow: false },
      },
      { id: 'cage-2', lock: { pin: 5, activeLow: false, failMode: 'fail-safe' } },
    ] as Pick<DoorConfig, 'id' | 'lock' | 'buzzer'>[];
    expect(secureLevels(doors)).toEqual({
      'machine-room.lock': false,
      'machine-room.buzzer': false,
      'cage-2.lock': true,
    });
  });
});
