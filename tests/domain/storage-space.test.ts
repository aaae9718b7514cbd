/** The `storage_low` rule with plain values: the floor, the margin that stops it flapping, failures. */
import { describe, expect, it } from 'vitest';
import {
  formatMiB,
  MIB,
  type SpaceReading,
  spaceLimits,
  stepStorageSpace,
} from '../../controller/domain/index.js';

const GIB = 1024 * MIB;
const free = (mib: number): SpaceReading => ({ ok: true, freeBytes: mib * MIB, totalBytes: 29 * GIB });
const limits = spaceLimits(1024);

describe('storage_low', () => {
  it('clears at the floor plus 10 %, or plus 64 MiB for a small floor', () => {
    expect(limits).toEqual({ floorBytes: 1024 * MIB, clearBytes: 1024 * MIB + Math.ceil((1024 * MIB) / 10) });
    expect(spaceLimits(100)).toEqual({ floorBytes: 100 * MIB, clearBytes: 164 * MIB });
  });

  it('is raised below the floor, naming the free space, the size and the floor', () => {
    const s = stepStorageSpace(false, free(1000), limits, '/var/lib/sekisho');
    expect(s.low).toBe(true);
    expect(s.alarm).toEqual({
      action: 'raise',
      detail:
        '1000 MiB free of 29.0 GiB on the file system of /var/lib/sekisho, below the floor of 1024 MiB (storage.lowSpaceMiB)',
    });
  });

  it('is not raised at the floor itself, nor twice', () => {
    expect(stepStorageSpace(false, free(1024), limits, '/d')).toEqual({ low: false, alarm: null });
    expect(stepStorageSpace(true, free(10), limits, '/d')).toEqual({ low: true, alarm: null });
  });

  it('does not flap: between the floor and the clearing level nothing changes', () => {
    // A card hovering around the floor: a backup written, then removed, the WAL growing and shrinking.
    const readings = [1000, 1030, 1010, 1100, 1020, 1120, 1126, 1127, 1100, 1030, 1020];
    let low = false;
    const alarms: string[] = [];
    for (const mib of readings) {
      const s = stepStorageSpace(low, free(mib), limits, '/d');
      low = s.low;
      if (s.alarm) alarms.push(`${s.alarm.action}@${mib}`);
    }
    // 1126 MiB < 1126.4 MiB (the clearing level); 1127 clears; 1020 is below the floor again.
    expect(alarms).toEqual(['raise@1000', 'clear@1127', 'raise@1020']);
  });

  it('a reading that fails raises it (once), saying why; a good reading later clears it', () => {
    const bad: SpaceReading = { ok: false, error: 'EIO (input/output error)' };
    const s = stepStorageSpace(false, bad, limits, '/var/lib/sekisho');
    expect(s).toEqual({
      low: true,
      alarm: {
        action: 'raise',
        detail: 'the free space of /var/lib/sekisho cannot be read: EIO (input/output error)',
      },
    });
    expect(stepStorageSpace(true, bad, limits, '/d')).toEqual({ low: true, alarm: null });
    expect(stepStorageSpace(true, free(20_000), limits, '/d')).toEqual({
      low: false,
      alarm: { action: 'clear' },
    });
    // Readable again but still below the floor: the alarm stays (its condition holds).
    expect(stepStorageSpace(true, free(500), limits, '/d')).toEqual({ low: true, alarm: null });
  });

  it('a lower floor after a restart clears what the higher one raised', () => {
    expect(stepStorageSpace(true, free(1000), spaceLimits(512), '/d')).toEqual({
      low: false,
      alarm: { action: 'clear' },
    });
  });

  it('formats sizes for people', () => {
    expect(formatMiB(0)).toBe('0 MiB');
    expect(formatMiB(1.5 * MIB)).toBe('1 MiB');
    expect(formatMiB(10_239 * MIB)).toBe('10239 MiB');
    expect(formatMiB(10 * GIB)).toBe('10.0 GiB');
  });
});
