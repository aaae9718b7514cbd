/**
 * `sekisho doctor`'s last line and exit status: warnings are counted and said, never "nothing is
 * wrong"; an unknown clock state is a warning. The real command with a stand-in `timedatectl` that
 * fails as it does without systemd.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../controller/doctor/check.js';
import { DOCTOR_EXIT, doctorSummary } from '../../controller/doctor.js';
import { fakeTimedatectl } from '../helpers/clock.js';
import { BIN, doorConfig, simReaders, tempDir, writeConfig } from '../helpers/controller.js';

const check = (verdict: Check['verdict'], what = 'x'): Check => ({ verdict, what, detail: '' });

describe('doctor: the summary and the exit status', () => {
  it('counts failures and warnings', () => {
    expect(doctorSummary([check('OK'), check('OK')])).toEqual({ line: 'nothing is wrong', status: 0 });
    expect(doctorSummary([check('OK'), check('WARN')])).toEqual({
      line: 'no problem found, 1 warning: see the WARN lines',
      status: DOCTOR_EXIT.warnings,
    });
    expect(doctorSummary([check('WARN'), check('WARN')]).line).toBe(
      'no problem found, 2 warnings: see the WARN lines',
    );
    expect(doctorSummary([check('FAIL'), check('WARN')])).toEqual({
      line: '1 problem found, 1 warning',
      status: DOCTOR_EXIT.failed,
    });
    expect(doctorSummary([check('FAIL'), check('FAIL')])).toEqual({ line: '2 problems found', status: 1 });
    expect(new Set(Object.values(DOCTOR_EXIT)).size).toBe(3);
    // 2 stays the CLI's own: bad usage or a config that cannot be used.
    expect(Object.values(DOCTOR_EXIT)).not.toContain(2);
  });

  it('an unknown clock state: a WARN line, the warnings counted, exit status 3', () => {
    const sync = fakeTimedatectl('fail');
    const dir = tempDir('sekisho-doctor-summary-');
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const file = writeConfig(dir, doorConfig(dir, simReaders()));
    const r = spawnSync(process.execPath, [BIN, 'doctor', '--config', file], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: `${sync.dir}:${process.env.PATH}`, SEKISHO_LOG: 'warn' },
    });
    const lines = r.stdout.trim().split('\n');
    const clock = lines.find((l) => / clock: /.test(l));
    // Where systemd-timesyncd's flag file exists, the state is known from it: then this is not the case.
    expect(clock, r.stdout).toMatch(/^WARN clock: synchronisation state unknown/);
    const warned = lines.filter((l) => l.startsWith('WARN ')).length;
    const failed = lines.filter((l) => l.startsWith('FAIL ')).length;
    expect(warned).toBeGreaterThanOrEqual(1);
    expect(r.stdout).not.toContain('nothing is wrong');
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    expect(lines.at(-1)).toBe(
      failed
        ? `${plural(failed, 'problem')} found, ${plural(warned, 'warning')}`
        : `no problem found, ${plural(warned, 'warning')}: see the WARN lines`,
    );
    expect(r.status, r.stdout + r.stderr).toBe(failed ? 1 : 3);
  }, 90_000);
});
