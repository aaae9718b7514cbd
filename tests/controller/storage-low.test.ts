/**
 * The `storage_low` alarm on a real file system: a floor above the free space that statfs really
 * reports raises it at start (on the journal, in the status and /metrics); a restart keeps it
 * without raising it again; a lower floor clears its condition at the next start, and the
 * acknowledgement ends it. A storage folder that vanishes makes the reading fail — reported as the
 * alarm, not thrown — and a storage fault has the space read at once. Real SQLite files, the
 * simulated board, statfs as it is; vitest's fake clock drives the check timer.
 */
import { renameSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { diskChecks } from '../../controller/doctor/storage.js';
import { MIB } from '../../controller/domain/index.js';
import type { Controller } from '../../controller/runtime/index.js';
import { MetricsCollector } from '../../dashboards/metrics.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

const T0 = Date.UTC(2026, 11, 7, 1, 0, 0);
const NO_PAGE_LIMIT = 1_073_741_823;
const running: Controller[] = [];

async function start(dir: string, storage: Record<string, unknown>) {
  const { c } = await startInProcess(dir, { extra: { storage: { path: join(dir, 'data'), ...storage } } });
  running.push(c);
  return c;
}

async function stop(c: Controller) {
  running.splice(running.indexOf(c), 1);
  await c.stop('test');
}

const rowsOf = (c: Controller, type: string) => [...c.journal.iterate(1)].filter((r) => r.type === type);
const lowRaised = (c: Controller) =>
  rowsOf(c, 'alarm_raised').filter((r) => (r.data as { alarm: string }).alarm === 'storage_low');
const metric = (text: string, name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];

/** A floor 1 GiB above what statfs reports free for `dir` now. */
function floorAboveFree(dir: string): number {
  const s = statfsSync(dir);
  return Math.ceil((s.bavail * s.bsize) / MIB) + 1024;
}

describe('storage_low', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      now: T0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'],
    });
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.stop('test end');
    vi.useRealTimers();
  });

  it('is raised by a floor above the real free space, kept across a restart, cleared by a lower floor', async () => {
    const dir = tempDir('sekisho-space-');
    const floor = floorAboveFree(dir);
    let c = await start(dir, { lowSpaceMiB: floor });

    const [raised, ...more] = lowRaised(c);
    expect(more).toEqual([]);
    expect(raised!.data).toMatchObject({ alarm: 'storage_low', severity: 'major' });
    expect((raised!.data as { detail: string }).detail).toMatch(
      new RegExp(`free of .* on the file system of ${join(dir, 'data')}, below the floor of`),
    );
    const alarm = c.activeAlarms().find((a) => a.type === 'storage_low')!;
    expect(alarm).toMatchObject({ id: raised!.seq, conditionCleared: false, door: null });
    const st = c.status().storage;
    expect(st).toMatchObject({ low: true, error: null, floorBytes: floor * MIB, path: join(dir, 'data') });
    expect(st.freeBytes).toBeLessThan(st.floorBytes);

    const metrics = new MetricsCollector(c);
    const text = metrics.render();
    metrics.close();
    expect(metric(text, 'sekisho_storage_low')).toBe('1');
    expect(metric(text, 'sekisho_storage_low_space_floor_bytes')).toBe(String(floor * MIB));
    expect(Number(metric(text, 'sekisho_storage_free_bytes'))).toBe(st.freeBytes);
    expect(metric(text, 'sekisho_storage_space_readable')).toBe('1');
    expect(text).toContain('sekisho_alarms_active{type="storage_low",severity="major"} 1');

    // The timer reads again: still low, nothing new.
    vi.advanceTimersByTime(60_000);
    expect(lowRaised(c)).toHaveLength(1);

    // A restart with the same floor: the journal's alarm is still up, and not raised again.
    await stop(c);
    c = await start(dir, { lowSpaceMiB: floor });
    expect(lowRaised(c)).toHaveLength(1);
    expect(c.status().storage.low).toBe(true);
    expect(rowsOf(c, 'alarm_condition_cleared')).toEqual([]);

    // A sane floor: the first reading after the start clears the condition; the acknowledgement ends it.
    await stop(c);
    c = await start(dir, { lowSpaceMiB: 32 });
    expect(rowsOf(c, 'alarm_condition_cleared').map((r) => r.data)).toEqual([{ alarmId: raised!.seq }]);
    expect(c.status().storage.low).toBe(false);
    expect(c.activeAlarms().find((a) => a.type === 'storage_low')).toMatchObject({ conditionCleared: true });
    expect(c.acknowledgeAlarm(raised!.seq, 'u_manager', 'moved the old backups to the NAS')).toBe(true);
    expect(c.activeAlarms()).toEqual([]);
    expect(lowRaised(c)).toHaveLength(1);
  });

  it('a reading that fails is reported as the alarm, not thrown; a good one clears it', async () => {
    const dir = tempDir('sekisho-space-');
    const c = await start(dir, { lowSpaceMiB: 32, lowSpaceCheckS: 60 });
    expect(lowRaised(c)).toEqual([]);
    // The folder disappears from under the running controller (its open files keep working).
    const data = join(dir, 'data');
    renameSync(data, join(dir, 'moved'));
    vi.advanceTimersByTime(60_000);
    const [raised] = lowRaised(c);
    expect((raised!.data as { detail: string }).detail).toBe(
      `the free space of ${data} cannot be read: ENOENT (ENOENT: no such file or directory, statfs '${data}')`,
    );
    const st = c.status().storage;
    expect(st).toMatchObject({ low: true, freeBytes: null, totalBytes: null });
    expect(st.error).toMatch(/^ENOENT/);
    const metrics = new MetricsCollector(c);
    const text = metrics.render();
    metrics.close();
    expect(metric(text, 'sekisho_storage_free_bytes')).toBe('NaN');
    expect(metric(text, 'sekisho_storage_space_readable')).toBe('0');
    vi.advanceTimersByTime(60_000);
    expect(lowRaised(c)).toHaveLength(1);

    renameSync(join(dir, 'moved'), data);
    vi.advanceTimersByTime(60_000);
    expect(rowsOf(c, 'alarm_condition_cleared').map((r) => r.data)).toEqual([{ alarmId: raised!.seq }]);
    expect(c.status().storage).toMatchObject({ low: false, error: null });
  });

  it('a storage fault has the free space read at once, not at the next tick', async () => {
    const dir = tempDir('sekisho-space-');
    const c = await start(dir, { lowSpaceMiB: 32, lowSpaceCheckS: 3600 });
    expect(c.status().storage.checkedAt).toBe(T0);
    vi.setSystemTime(T0 + 5000);
    // A real refusal from SQLite: the database may not grow by one page (SQLITE_FULL).
    const pages = Number(c.db.pragma('page_count', { simple: true }));
    c.db.pragma(`max_page_count = ${pages}`);
    const refused = () => {
      for (let i = 0; i < 200; i++) c.setMode('machine-room', i % 2 ? 'normal' : 'lockdown', 'u_manager');
    };
    expect(refused).toThrow('the journal cannot be written; mode not changed');
    expect(c.status().journal.storageOk).toBe(false);
    vi.advanceTimersToNextTimer(); // the setImmediate the fault scheduled
    expect(c.status().storage.checkedAt).toBe(T0 + 5000);
    c.db.pragma(`max_page_count = ${NO_PAGE_LIMIT}`);
    vi.advanceTimersByTime(2000);
    expect(c.status().journal.storageOk).toBe(true);
  });

  it('doctor warns below the same floor', () => {
    const dir = tempDir('sekisho-space-');
    const disk = (floorMiB: number) => {
      const lines: string[] = [];
      diskChecks(
        dir,
        (verdict, what, detail) => {
          if (what === 'disk') lines.push(`${verdict} ${detail}`);
        },
        floorMiB,
      );
      return lines;
    };
    const [above] = disk(floorAboveFree(dir));
    expect(above).toMatch(
      /^WARN \d+ MB free for .* — below storage\.lowSpaceMiB \(\d+ MiB\): the controller raises storage_low/,
    );
    expect(disk(32)[0]).toMatch(/^OK \d+ MB free for /);
  });
});
