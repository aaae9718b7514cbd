/**
 * `sekisho doctor`'s clock checks with the sync state as systemd would answer it: a stand-in
 * `timedatectl` first on the PATH (doctor runs the real command by name). Its own file, so that the
 * process's first question about the clock is asked with it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { fakeTimedatectl } from '../helpers/clock.js';
import { doorConfig, tempDir } from '../helpers/controller.js';

const sync = fakeTimedatectl('no');
process.env.PATH = `${sync.dir}:${process.env.PATH}`;

async function checks(clock: Record<string, unknown>) {
  const dir = tempDir('sekisho-doctor-clock-');
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    JSON.stringify(doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }], { clock })),
  );
  const all = await runChecks(loadConfig(file), { now: Date.parse('2026-12-07T09:00:00Z') });
  return (what: string) => all.find((c) => c.what === what);
}

describe('doctor: an unsynchronised clock and the policy in force', () => {
  it('says the clock is not synchronised and that the doors refuse time-dependent entries', async () => {
    const find = await checks({ whenUnsynchronised: 'staff_always_only' });
    expect(find('clock')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/^NOT synchronised/),
    });
    expect(find('clock policy')).toMatchObject({
      verdict: 'OK',
      detail: expect.stringContaining('clock.whenUnsynchronised: staff_always_only'),
    });
  });

  it('warns when badges are decided as usual on that clock', async () => {
    const find = await checks({});
    expect(find('clock policy')).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringContaining('clock.whenUnsynchronised: normal'),
    });
  });
});
