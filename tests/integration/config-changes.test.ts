/**
 * Issue #14 path 8: a config edited on the device (a schedule widened to 24/7, a holiday added, a
 * visitor rule relaxed) and the controller restarted through the real `sekisho start` is journaled
 * as `config_loaded` with exactly those changes; the Compliance page needs review until a different
 * person acknowledges them; the person who started it and the person who declared the change are
 * refused (and journaled).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { makeDash, type TestDash } from '../dashboards/helpers.js';
import { BIN, doorConfig, simReaders, startController, tempDir, writeConfig } from '../helpers/controller.js';

/** `sekisho …` as the OS user running the tests, through sudo by `sudoUser` when given. */
function sekisho(args: string[], sudoUser?: string) {
  const env: Record<string, string | undefined> = { ...process.env, SEKISHO_LOG: 'warn' };
  delete env.SUDO_USER;
  if (sudoUser) env.SUDO_USER = sudoUser;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Load {
  seq: number;
  startedBy: string | null;
  sha256: string | null;
  previousSeq: number | null;
  baseline: boolean;
  changes: { path: string; old?: unknown; new?: unknown }[];
  declarations: { actor: string; reason: string }[];
  acknowledged: { actor: string; note: string } | null;
  needsReview: boolean;
}

const CLAUSE = '§8(1)① §8(3)②';

describe('config changes on the device', () => {
  const dir = tempDir('sekisho-config-changes-');
  const storage = join(dir, 'data');
  const cfg = doorConfig(dir, simReaders(), {
    holidays: ['2027-01-01'],
    schedules: [
      {
        id: 'office-hours',
        name: 'office hours',
        windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }],
      },
    ],
  });
  const file = writeConfig(dir, cfg);
  const osUser = userInfo().username;
  let d: TestDash | undefined;

  afterAll(async () => {
    await d?.close();
  });

  const start = async (sudoUser: string) => {
    // A loaded machine (the whole suite, two cores) may take long to start a child.
    const ctl = await startController(file, storage, 90_000, { env: { SUDO_USER: sudoUser } });
    expect(await ctl.stop()).toBe(0);
  };

  it('journals a baseline, then exactly the edited keys, with who started and who declared it', async () => {
    await start('manager1');
    // The edit: office hours become 24/7, a holiday is added, an escort may leave their visitors.
    const edited = structuredClone(cfg) as Record<string, unknown>;
    (edited.schedules as { always?: boolean }[])[0]!.always = true;
    edited.holidays = ['2027-01-01', '2027-12-29'];
    edited.visitors = { escortExit: 'allow_and_alarm' };
    writeConfig(dir, edited);

    // Declaring needs a person: not root or the service account on their own.
    const anonymous = sekisho(['config', 'declare', '--config', file, '--reason', 'night maintenance']);
    if (osUser === 'root') {
      expect(anonymous.status).toBe(1);
      expect(anonymous.stderr).toContain('stands for no person');
    }
    expect(sekisho(['config', 'declare', '--config', file]).stderr).toContain('missing --reason');
    const declared = sekisho(
      ['config', 'declare', '--config', file, '--reason', 'UPS work over the year end'],
      'manager2',
    );
    expect(declared.status, declared.stderr).toBe(0);
    await start('manager1');

    const shown = sekisho(['config', 'show-changes', '--config', file, '--json']);
    expect(shown.status, shown.stderr).toBe(0);
    const loads = JSON.parse(shown.stdout).loads as Load[];
    expect(loads).toHaveLength(2);
    const [change, baseline] = loads as [Load, Load];
    expect(baseline).toMatchObject({ baseline: true, previousSeq: null, needsReview: true });
    expect(baseline.changes.map((c) => c.path)).toEqual(
      ['board', 'clock', 'demo', 'doors', 'holidays', 'readers', 'schedules', 'timeZone', 'visitors'].sort(),
    );
    expect(change.changes).toEqual([
      { path: 'holidays', old: ['2027-01-01'], new: ['2027-01-01', '2027-12-29'] },
      { path: 'schedules[office-hours].always', old: false, new: true },
      { path: 'visitors.escortExit', old: 'refuse', new: 'allow_and_alarm' },
    ]);
    expect(change).toMatchObject({
      baseline: false,
      previousSeq: baseline.seq,
      startedBy: `cli:manager1/${osUser}`,
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
      declarations: [{ actor: `cli:manager2/${osUser}`, reason: 'UPS work over the year end' }],
      needsReview: true,
      acknowledged: null,
    });
    const text = sekisho(['config', 'show-changes', '--config', file, '--pending']).stdout;
    expect(text).toContain('NEEDS REVIEW');
    expect(text).toContain('schedules[office-hours].always: false → true');
  }, 300_000);

  it('shows 要確認 until a different person acknowledges; the starter and the declarer are refused', async () => {
    // A third start, unchanged: a row without changes. Under systemd the starter is no person.
    d = await makeDash({ loaded: loadConfig(file), startedBy: 'cli:sekisho' });
    const all = (await (await d.login('auditor1')).get('/api/config-changes?all=true')).json()
      .loads as Load[];
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ changes: [], needsReview: false, startedBy: 'cli:sekisho' });
    const [change, baseline] = all.slice(1) as [Load, Load];

    const manager1 = await d.login('manager1');
    const manager2 = await d.login('manager2');
    const admin1 = await d.login('admin1');
    const row = async () =>
      (
        (await admin1.get('/api/compliance')).json().items as {
          clause: string;
          status: string;
          evidence: [string, unknown][];
        }[]
      ).find((i) => i.clause === CLAUSE)!;
    expect(await row()).toMatchObject({
      status: 'attention',
      evidence: expect.arrayContaining([['cmp_ev_config_pending', 2]]),
    });
    const ja = (await manager1.get('/compliance')).body;
    const jaRow = ja.slice(
      ja.indexOf(`data-clause="${CLAUSE}"`),
      ja.indexOf('</tr>', ja.indexOf(`data-clause="${CLAUSE}"`)),
    );
    expect(jaRow).toContain('要確認');
    expect(jaRow).toContain('href="/config-changes"');

    const ack = (c: typeof admin1, seq: number) =>
      c.post(`/api/config-changes/${seq}/acknowledge`, { note: 'checked against the maintenance plan' });
    const started = await ack(manager1, change.seq);
    expect(started.statusCode).toBe(403);
    expect(started.json().error.code).toBe('self_approval_refused');
    const declaredIt = await ack(manager2, change.seq);
    expect(declaredIt.statusCode).toBe(403);
    expect((await ack(await d.login('operator1'), change.seq)).json().error.code).toBe('forbidden');
    const refusals = d.controller.journal.query({ types: ['config_change_ack_refused'], limit: 10 });
    expect(refusals.map((r) => [r.actor, r.data])).toEqual([
      ['user:manager2', { configSeq: change.seq, reason: 'declared', by: `cli:manager2/${osUser}` }],
      ['user:manager1', { configSeq: change.seq, reason: 'started', by: `cli:manager1/${osUser}` }],
    ]);

    // The list, in both languages: each key old → new; the refused see why, not the form.
    const page = (await manager1.get('/config-changes')).body;
    expect(page).toContain('schedules[office-hours].always');
    expect(page).toContain('2027-12-29');
    expect(page).toContain('data-refusal="started"');
    const en = (
      await admin1.req('GET', '/config-changes', undefined, { cookie: `${admin1.cookie}; sekisho_lang=en` })
    ).body;
    expect(en).toContain('Changes since #');
    expect(en).toContain(`data-api="/api/config-changes/${change.seq}/acknowledge"`);

    const ok = await ack(admin1, change.seq);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().load).toMatchObject({ needsReview: false, acknowledged: { actor: 'user:admin1' } });
    expect((await ack(admin1, change.seq)).statusCode).toBe(409);
    expect((await ack(admin1, all[0]!.seq)).statusCode).toBe(409); // nothing changed
    expect((await ack(admin1, 1)).statusCode).toBe(404); // not a config_loaded row
    expect((await row()).status).toBe('attention'); // the baseline still waits
    expect((await ack(admin1, baseline.seq)).statusCode).toBe(200);
    expect(await row()).toMatchObject({
      status: 'ok',
      evidence: expect.arrayContaining([
        ['cmp_ev_config_pending', 0],
        ['cmp_ev_config_refused', 2],
      ]),
    });
  }, 60_000);
});
