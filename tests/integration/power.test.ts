/**
 * The power-fail input end to end (policy §7(3)③): the real `sekisho start` as a child process, on
 * the simulated board's UPS contacts and on a real upsd (Debian's NUT with the dummy-ups driver).
 * A power failure secures the doors, commits `power_failing`, stops cleanly with exit status 3 and
 * runs the shutdown command; the journal verifies and the next start is clean.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import type { Check } from '../../controller/doctor/check.js';
import { powerChecks } from '../../controller/doctor/power.js';
import {
  cli,
  doorConfig,
  type Running,
  seedStaff,
  simReaders,
  spawnController,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Nut, startNut } from '../helpers/nut.js';

/** The machine may be loaded: waits are generous (they end at the first match). */
const waitFor = <T>(fn: () => T | Promise<T>, what: string) => until(fn, what, 60_000);

interface Row {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

function journal(storage: string): Row[] {
  const db = new Database(join(storage, 'journal.db'), { readonly: true });
  try {
    return (
      db.prepare('SELECT seq, type, bytes FROM journal ORDER BY seq').all() as {
        seq: number;
        type: string;
        bytes: string;
      }[]
    ).map((r) => ({ seq: r.seq, type: r.type, data: JSON.parse(r.bytes).data }));
  } finally {
    db.close();
  }
}

const POWER_TYPES = new Set([
  'power_on_battery',
  'power_restored',
  'power_failing',
  'power_monitor_lost',
  'power_monitor_restored',
  'controller_started',
  'controller_stopped',
]);

/** The samples of the controller's real /metrics, read with a token of the metrics scope. */
async function scrape(ctl: Running, cfgFile: string): Promise<string> {
  const made = cli(['token', 'create', `prom-${Date.now()}`, '--scope', 'metrics', '--config', cfgFile]);
  expect(made.status, made.stderr).toBe(0);
  const r = await fetch(`${ctl.base}/metrics`, {
    headers: { authorization: `Bearer ${made.stdout.trim()}` },
  });
  expect(r.status).toBe(200);
  return r.text();
}

/** The power rows, alarm rows about power, and the starts and stops, as `type[:detail]`. */
function story(storage: string): string[] {
  return journal(storage).flatMap((r) => {
    if (r.type === 'alarm_raised' && String(r.data.alarm).startsWith('power'))
      return [`alarm_raised:${r.data.alarm}`];
    if (r.type === 'alarm_condition_cleared') return ['alarm_condition_cleared'];
    if (!POWER_TYPES.has(r.type)) return [];
    if (r.type === 'controller_stopped') return [`controller_stopped:${r.data.reason}`];
    if (r.type === 'power_failing') return [`power_failing:${r.data.reason}`];
    return [r.type];
  });
}

describe('the UPS contacts on the simulated board', { timeout: 180_000 }, () => {
  const dir = tempDir('sekisho-power-gpio-');
  const storage = join(dir, 'data');
  const halted = join(dir, 'halted');
  const cfgFile = writeConfig(
    dir,
    doorConfig(dir, simReaders(), {
      power: {
        graceS: 60,
        shutdownCommand: ['/usr/bin/touch', halted],
        gpio: { onBattery: { pin: 5, debounceMs: 0 }, lowBattery: { pin: 6, debounceMs: 0 } },
      },
    }),
  );
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.kill9();
  });

  it('on battery, then back: recorded and alarmed, the doors keep working', async () => {
    seedStaff(cfgFile, {
      name: '山田 太郎',
      displayId: 'S-1',
      door: 'machine-room',
      credential: '0A1B2C3D4E',
    });
    ctl = await startController(cfgFile, storage, 90_000);
    expect((await ctl.api('POST', '/api/sim/power', { onBattery: true })).status).toBe(200);
    await waitFor(() => story(storage).includes('power_on_battery'), 'power_on_battery');
    const status = await ctl.api<{
      power: { onBattery: boolean; source: string };
      alarms: { type: string }[];
    }>('GET', '/api/status');
    expect(status.body.power).toMatchObject({ source: 'gpio', onBattery: true, status: 'OB' });
    expect(status.body.alarms.map((a) => a.type)).toContain('power_failure');
    const text = await scrape(ctl, cfgFile);
    expect(text).toContain('\nsekisho_power_on_battery{source="gpio"} 1\n');
    expect(text).toContain('\nsekisho_power_failing{source="gpio"} 0\n');
    // Only NUT has a link to lose.
    expect(text).not.toContain('sekisho_power_monitor_online');
    await ctl.api('POST', '/api/sim/power', { onBattery: false });
    await waitFor(() => story(storage).includes('power_restored'), 'power_restored');
    const restored = journal(storage).find((r) => r.type === 'power_restored')!;
    expect(restored.data).toMatchObject({ source: 'gpio', status: 'OL' });
    expect(restored.data.secondsOnBattery).toEqual(expect.any(Number));
    expect(ctl.proc.exitCode).toBeNull();
  });

  it('a low battery during a grant: doors secured, power_failing, clean stop, exit 3, shutdown command', async () => {
    const grant = await ctl!.api<{ granted: boolean }>('POST', '/api/sim/badge', {
      reader: 'entry',
      credential: '0A1B2C3D4E',
    });
    expect(grant.body.granted).toBe(true);
    expect(
      (await ctl!.api<Record<string, boolean>>('GET', '/api/sim/outputs')).body['machine-room.lock'],
    ).toBe(true);
    const exited = new Promise<number | null>((res) => ctl!.proc.once('exit', (code) => res(code)));
    await ctl!.api('POST', '/api/sim/power', { onBattery: true, lowBattery: true });
    expect(await exited).toBe(3);
    expect(existsSync(halted)).toBe(true);
    const rows = journal(storage);
    const failing = rows.find((r) => r.type === 'power_failing')!;
    expect(failing.data).toEqual({
      source: 'gpio',
      status: 'OB LB',
      reason: 'low_battery',
      secondsOnBattery: 0,
      shutdownCommand: `/usr/bin/touch ${halted}`,
    });
    // The door was unlocked by the grant: the stop records it locked, after power_failing.
    const after = rows
      .filter((r) => r.seq > failing.seq)
      .map((r) => `${r.type}${r.data.cause ? `:${r.data.cause}` : ''}`);
    expect(after).toEqual(['door_locked:shutdown', 'controller_stopped']);
    const v = cli(['verify', '--config', cfgFile]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it('the next start is clean and records the return of mains power', async () => {
    ctl = await startController(cfgFile, storage, 90_000);
    await waitFor(
      () => story(storage).filter((t) => t === 'power_restored').length === 2,
      'power_restored at start',
    );
    expect(story(storage)).toEqual([
      'controller_started',
      'power_on_battery',
      'alarm_raised:power_failure',
      'power_restored',
      'alarm_condition_cleared',
      'power_on_battery',
      'alarm_raised:power_failure',
      'power_failing:low_battery',
      'controller_stopped:power_failing',
      'controller_started',
      'power_restored',
      'alarm_condition_cleared',
    ]);
    const restored = journal(storage)
      .filter((r) => r.type === 'power_restored')
      .at(-1)!;
    expect(restored.data.secondsOnBattery).toBeNull();
    expect(await ctl.stop()).toBe(0);
    const v = cli(['verify', '--config', cfgFile]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it('the simulation route refuses what the config lacks, clearly', async () => {
    const d2 = tempDir('sekisho-power-none-');
    const cfg2 = writeConfig(d2, doorConfig(d2, simReaders()));
    const c = await startController(cfg2, join(d2, 'data'), 90_000);
    try {
      const r = await c.api<{ error: { code: string; message: string } }>('POST', '/api/sim/power', {
        onBattery: true,
      });
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({
        code: 'not_configured',
        message: 'no power.gpio input is configured',
      });
      expect((await c.api('POST', '/api/sim/power', { onBattery: 'yes' })).status).toBe(400);
    } finally {
      await c.stop();
    }
  });
});

describe('a real upsd with the dummy-ups driver', { timeout: 180_000 }, () => {
  let nut: Nut;
  const dir = tempDir('sekisho-power-nut-');
  const storage = join(dir, 'data');
  let cfgFile = '';
  let ctl: Running | undefined;
  beforeAll(async () => {
    nut = await startNut('OL');
    const passwordFile = join(dir, 'nut-password');
    writeFileSync(passwordFile, `${nut.password}\n`, { mode: 0o600 });
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), {
        power: {
          graceS: 3,
          nut: {
            host: '127.0.0.1',
            port: nut.port,
            ups: nut.ups,
            username: nut.username,
            passwordFile,
            pollS: 1,
            timeoutS: 2,
          },
        },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await ctl?.kill9();
    await nut?.kill();
  });

  async function doctorSays(file: string): Promise<Check[]> {
    const checks: Check[] = [];
    await powerChecks(loadConfig(file), (verdict, what, detail) => checks.push({ verdict, what, detail }));
    return checks;
  }

  it('sekisho doctor reads the UPS (a login is sent, never shown)', async () => {
    expect(await doctorSays(cfgFile)).toEqual([
      {
        verdict: 'OK',
        what: 'power upsd',
        detail: `127.0.0.1:${nut.port} UPS "${nut.ups}": OL (on line); clean stop after 3 s on battery, the system stays up`,
      },
    ]);
    // The login (USERNAME, PASSWORD, LOGIN) is sent and accepted; the password never appears in the
    // output (a wrong one: tests/controller/nut-login.test.ts).
    expect(JSON.stringify(await doctorSays(cfgFile))).not.toContain(nut.password);
  });

  it('on line: nothing to record; on battery briefly: on battery, then restored', async () => {
    ctl = await startController(cfgFile, storage, 90_000);
    await waitFor(
      async () =>
        (await ctl!.api<{ power: { status: string } }>('GET', '/api/status')).body.power.status === 'OL',
      'the first reading',
    );
    expect(story(storage)).toEqual(['controller_started']);
    // Logged in to the UPS as upsmon does: upsd counts the controller as a client.
    await waitFor(() => nut.clients()?.includes('127.0.0.1'), 'upsd to list the controller');
    const text = await scrape(ctl, cfgFile);
    expect(text).toContain('\nsekisho_power_on_battery{source="nut"} 0\n');
    expect(text).toContain('\nsekisho_power_monitor_online 1\n');
    await nut.setStatus('OB DISCHRG');
    await waitFor(() => story(storage).includes('power_on_battery'), 'power_on_battery');
    await nut.setStatus('OL CHRG');
    await waitFor(() => story(storage).includes('power_restored'), 'power_restored');
    expect(ctl.proc.exitCode).toBeNull();
  });

  it('upsd down: reported (row and alarm), no shutdown; back: restored', async () => {
    await nut.stopUpsd();
    await waitFor(() => story(storage).includes('power_monitor_lost'), 'power_monitor_lost');
    const lost = journal(storage).find((r) => r.type === 'power_monitor_lost')!;
    expect(lost.data).toMatchObject({ server: `127.0.0.1:${nut.port}`, ups: nut.ups });
    expect(String(lost.data.reason)).toMatch(/ECONNREFUSED|closed the connection/);
    // The alarm is its own commit, just after the row.
    await waitFor(() => story(storage).includes('alarm_raised:power_monitor_offline'), 'the alarm');
    expect(await scrape(ctl!, cfgFile)).toContain('\nsekisho_power_monitor_online 0\n');
    expect(JSON.stringify(journal(storage))).not.toContain(nut.password);
    // Longer than the grace time: a lost link alone is no power failure.
    await new Promise((r) => setTimeout(r, 4000));
    expect(ctl!.proc.exitCode).toBeNull();
    expect(story(storage)).not.toContain('power_failing:grace_elapsed');
    await nut.startUpsd();
    await waitFor(() => story(storage).includes('power_monitor_restored'), 'power_monitor_restored');
  });

  it('"OB LB": the controller secures, records, stops cleanly and exits 3; the journal verifies', async () => {
    const exited = new Promise<number | null>((res) => ctl!.proc.once('exit', (code) => res(code)));
    await nut.setStatus('OB LB');
    expect(await exited).toBe(3);
    const failing = journal(storage).find((r) => r.type === 'power_failing')!;
    expect(failing.data).toMatchObject({
      source: 'nut',
      status: 'OB LB',
      reason: 'low_battery',
      shutdownCommand: null,
    });
    expect(story(storage).slice(-2)).toEqual([
      'power_failing:low_battery',
      'controller_stopped:power_failing',
    ]);
    const v = cli(['verify', '--config', cfgFile]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it('still on battery at the next start: the grace time runs again, then a clean stop', async () => {
    await nut.setStatus('OB DISCHRG');
    const p = spawnController(cfgFile, storage);
    expect(await p.exited).toBe(3);
    const last = journal(storage)
      .filter((r) => r.type === 'power_failing')
      .at(-1)!;
    expect(last.data).toMatchObject({ reason: 'grace_elapsed', status: 'OB DISCHRG' });
    expect(Number(last.data.secondsOnBattery)).toBeGreaterThanOrEqual(3);
    await nut.setStatus('OL');
    ctl = await startController(cfgFile, storage, 90_000);
    await waitFor(() => story(storage).at(-2) === 'power_restored', 'power_restored after the restart');
    expect(await ctl.stop()).toBe(0);
    expect(cli(['verify', '--config', cfgFile]).status).toBe(0);
  });
});
