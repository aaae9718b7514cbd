/**
 * `sekisho doctor` measures the storage's flush time: the real command as a child process, once on
 * the disk as it is and once with every flush made 50 ms slower by the bench's preload
 * (bench/lib/flushcount.c, an SD card too slow for a door), which also counts the fsyncs the
 * doctor made.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFlushcount, flushEnv, readCounts } from '../../bench/lib/flushcount.js';
import { FLUSH_SAMPLES, FLUSH_WARN_MS } from '../../controller/doctor/storage.js';
import { BIN, doorConfig, simReaders, tempDir, writeConfig } from '../helpers/controller.js';

function doctor(env: Record<string, string>) {
  const dir = tempDir('sekisho-doctor-flush-');
  const storage = join(dir, 'data');
  mkdirSync(storage, { mode: 0o700 });
  const file = writeConfig(dir, doorConfig(dir, simReaders()));
  const r = spawnSync(process.execPath, [BIN, 'doctor', '--config', file], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SEKISHO_LOG: 'warn', ...env },
  });
  const line = r.stdout.split('\n').find((l) => / storage flush: /.test(l));
  return { r, line, storage };
}

const medianOf = (line: string) => Number(/median ([\d.]+) ms/.exec(line)?.[1]);

describe('doctor: the storage flush time', () => {
  it('warns when the median flush is slower than the documented threshold (50 ms added per flush)', () => {
    const so = buildFlushcount();
    const counts = tempDir('sekisho-flushcount-');
    const { r, line, storage } = doctor(flushEnv(so, counts, { delayUs: 50_000 }));
    expect(r.status, r.stdout + r.stderr).toBe(3); // warnings, no failure
    expect(line, r.stdout).toMatch(
      new RegExp(
        `^WARN +storage flush: median \\d+ ms, slowest \\d+ ms over ${FLUSH_SAMPLES} flushes of a 4 KiB write — slow \\(above ${FLUSH_WARN_MS} ms\\).*docs/install\\.md`,
      ),
    );
    expect(medianOf(line!)).toBeGreaterThanOrEqual(50);
    // The figure is a measurement: the doctor's own process made the flushes it timed.
    const doctorProcs = [...readCounts(counts).values()].filter((c) => c.fsync >= FLUSH_SAMPLES + 1);
    expect(doctorProcs.length).toBeGreaterThanOrEqual(1);
    // Its scratch file is gone.
    expect(readdirSync(storage).filter((f) => f.startsWith('.doctor-flush'))).toEqual([]);
  }, 90_000);

  it('reports the disk as it is, OK at or under the threshold', () => {
    const { r, line, storage } = doctor({});
    // No failure; warnings (this machine's clock, its hardware clock…) make it 3 (docs/operations.md).
    expect(r.status, r.stdout + r.stderr).toBe(/^WARN /m.test(r.stdout) ? 3 : 0);
    expect(line, r.stdout).toMatch(/^(OK|WARN) +storage flush: median [\d.]+ ms, slowest [\d.]+ ms over /);
    // A loaded test machine may flush slowly; the verdict must follow the figure either way.
    const median = medianOf(line!);
    expect(line!.startsWith(median > FLUSH_WARN_MS ? 'WARN' : 'OK')).toBe(true);
    expect(readdirSync(storage).filter((f) => f.startsWith('.doctor-flush'))).toEqual([]);
  }, 90_000);
});
