/**
 * The NUT login against a real upsd (Debian's nut-server with the dummy-ups driver): with a user
 * configured the controller logs in to the UPS as upsmon does, so upsd lists it among the UPS's
 * clients; a wrong password is refused at LOGIN and becomes a clear `power_monitor_offline` alarm, a
 * journal row and a log line (and a doctor failure) that name the user and never the password.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import type { Check } from '../../controller/doctor/check.js';
import { powerChecks } from '../../controller/doctor/power.js';
import type { Logger } from '../../controller/log.js';
import type { Controller } from '../../controller/runtime/index.js';
import { doorConfig, simReaders, tempDir, until, writeConfig } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';
import { type Nut, startNut } from '../helpers/nut.js';

const WRONG = 'not-the-nut-password';

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { log: { debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error') }, lines };
}

describe('logging in to a real upsd', { timeout: 180_000 }, () => {
  let nut: Nut;
  const running: Controller[] = [];
  beforeAll(async () => {
    nut = await startNut('OL');
  }, 120_000);
  afterAll(async () => {
    for (const c of running) await c.stop('test end');
    await nut?.kill();
  });

  function nutSection(dir: string, password: string) {
    const passwordFile = join(dir, 'nut-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    return {
      graceS: 60,
      nut: {
        port: nut.port,
        ups: nut.ups,
        username: nut.username,
        passwordFile,
        pollS: 1,
        timeoutS: 5,
      },
    };
  }

  it('the right password: logged in to the UPS, upsd lists the controller as a client', async () => {
    expect(nut.clients()).toEqual([]);
    const dir = tempDir('sekisho-nut-login-');
    const { c } = await startInProcess(dir, { extra: { power: nutSection(dir, nut.password) } });
    running.push(c);
    await until(() => c.status().power?.status === 'OL', 'the first reading', 60_000);
    await until(() => nut.clients()?.includes('127.0.0.1'), 'upsd to list the controller', 60_000);
    expect(c.status().power).toMatchObject({ source: 'nut', monitorOk: true, onBattery: false });
    expect(c.journal.query({ types: ['power_monitor_lost'], limit: 1 })).toEqual([]);
    await c.stop('test end');
    running.splice(running.indexOf(c), 1);
    // The connection ends with the controller: upsd no longer counts it.
    await until(() => nut.clients()?.length === 0, 'upsd to drop the client', 60_000);
  });

  it('a wrong password: refused at LOGIN, a clear alarm and log line, the password never shown', async () => {
    const dir = tempDir('sekisho-nut-wrong-');
    const { log, lines } = recordingLog();
    const { c } = await startInProcess(dir, { extra: { power: nutSection(dir, WRONG) }, log });
    running.push(c);
    const lost = await until(
      () => c.journal.query({ types: ['power_monitor_lost'], limit: 1 })[0],
      'power_monitor_lost',
      60_000,
    );
    const reason = String((lost.data as { reason: string }).reason);
    expect(reason).toBe(
      `upsd at 127.0.0.1:${nut.port} refused the login of user "${nut.username}" to UPS "${nut.ups}" (ERR ACCESS-DENIED): ` +
        'the password in power.nut.passwordFile is wrong, or the user lacks "upsmon secondary" in upsd.users',
    );
    const alarm = c.activeAlarms().find((a) => a.type === 'power_monitor_offline')!;
    expect(alarm.detail).toContain(reason);
    expect(c.status().power).toMatchObject({ monitorOk: false, failing: false });
    expect(
      lines.some((l) => l.startsWith("warn the UPS's status cannot be read") && l.includes('ACCESS-DENIED')),
    ).toBe(true);
    // Not counted by upsd, and nowhere the password, wrong or right.
    expect(nut.clients()).toEqual([]);
    const everything = JSON.stringify([...c.journal.iterate(1)]) + lines.join('\n');
    expect(everything).not.toContain(WRONG);
    expect(everything).not.toContain(nut.password);
    // The doors keep working: the default onLost is `report`.
    expect(c.journal.query({ types: ['power_failing', 'power_on_battery'], limit: 1 })).toEqual([]);
  });

  it('sekisho doctor fails the check with the same words', async () => {
    const dir = tempDir('sekisho-nut-doctor-');
    const file = writeConfig(dir, doorConfig(dir, simReaders(), { power: nutSection(dir, WRONG) }));
    const checks: Check[] = [];
    await powerChecks(loadConfig(file), (verdict, what, detail) => checks.push({ verdict, what, detail }));
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ verdict: 'FAIL', what: 'power upsd' });
    expect(checks[0]!.detail).toContain('refused the login of user "sekisho"');
    expect(JSON.stringify(checks)).not.toContain(WRONG);
  });
});
