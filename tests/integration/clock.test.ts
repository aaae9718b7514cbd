/**
 * The clock of a real `sekisho start` process, shifted for real: libfaketime steps the process's
 * wall clock (its monotonic clock stays real, as with an NTP step) and a stand-in `timedatectl` on
 * its PATH answers the sync state, as systemd would. Seen in the journal, on MQTT and on the API:
 * each step (`clock_adjusted`, old and new time), each change of the sync state, the
 * unsynchronised-clock policy through real badge decisions, a door that still relocks on time after
 * a step back, and the log's paging across the step.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { openStorage } from '../../controller/storage.js';
import { fakeTimedatectl, faketimeClock, hasFaketime } from '../helpers/clock.js';
import {
  cli,
  doorConfig,
  type Running,
  seedStaff,
  simReaders,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { Consumer } from '../mqtt/consumer.js';

interface Row {
  seq: number;
  at: number;
  type: string;
  data: Record<string, unknown>;
}

const HOUR = 3_600_000;

describe('a shifted clock, for real (libfaketime)', () => {
  // A missing libfaketime fails here rather than skipping the file (scripts/setup.sh --test installs it).
  it('libfaketime is installed', () => expect(hasFaketime).toBe(true));

  const dir = tempDir('sekisho-clock-');
  const storage = join(dir, 'data');
  const clock = faketimeClock();
  const sync = fakeTimedatectl('yes');
  let broker: Mosquitto;
  let sub: Consumer;
  let ctl: Running;
  let db: Database.Database;
  const STAFF = '0A1B2C3D4E';
  const CONTRACTOR = '5566778899';

  const rows = (after = 0): Row[] =>
    (
      db.prepare('SELECT seq, at, type, bytes FROM journal WHERE seq > ? ORDER BY seq').all(after) as {
        seq: number;
        at: number;
        type: string;
        bytes: string;
      }[]
    ).map((r) => ({ seq: r.seq, at: r.at, type: r.type, data: JSON.parse(r.bytes).data }));
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const waitRow = (after: number, type: string, what: string) =>
    until(() => rows(after).find((r) => r.type === type), what, 15_000);
  const badge = (credential: string) =>
    ctl.api<{ granted: boolean; reason: string }>('POST', '/api/sim/badge', { reader: 'entry', credential });
  const status = async () =>
    (
      await ctl.api<{
        clockSynced: boolean | null;
        clock: { synchronised: boolean | null; whenUnsynchronised: string; restriction: string | null };
        doors: { locked: boolean }[];
      }>('GET', '/api/status')
    ).body;
  let metricsToken = '';
  /** One sample of the real /metrics (a token with the metrics scope, as Prometheus uses). */
  const metric = async (name: string): Promise<string | undefined> => {
    const r = await fetch(`${ctl.base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(r.status).toBe(200);
    return new RegExp(`^${name} (\\S+)$`, 'm').exec(await r.text())?.[1];
  };
  const doorStates = () =>
    sub.json<{ clockRestriction: string | null }>('sekisho/test-ctl/doors/machine-room/state');

  beforeAll(async () => {
    broker = await startMosquitto();
    const cfg = writeConfig(
      dir,
      doorConfig(dir, simReaders(), {
        mqtt: { url: broker.url, reconnectS: 1 },
        clock: { whenUnsynchronised: 'staff_always_only', syncCheckS: 1 },
      }),
    );
    // The door relocks by its unlock time only (not on closing), so a step back would show.
    seedStaff(cfg, { name: '山田 太郎', displayId: 'S-1', door: 'machine-room', credential: STAFF });
    const s = openStorage(loadConfig(cfg));
    try {
      const at = Date.now();
      const p = s.registry.addPerson(
        { name: '鈴木 一郎', displayId: 'C-1', category: 'contractor' },
        'test:setup',
        at,
      );
      s.registry.grantDoor(p.id, 'machine-room', 'always', 'test:setup', at);
      s.registry.addBadge({ personId: p.id, credential: CONTRACTOR }, 'test:setup', at);
    } finally {
      s.db.close();
    }
    sub = await Consumer.connect(broker.url, ['sekisho/test-ctl/#']);
    ctl = await startController(cfg, storage, 60_000, {
      env: { ...clock.env, PATH: `${sync.dir}:${process.env.PATH}` },
    });
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    const made = cli(['token', 'create', 'prometheus', '--scope', 'metrics', '--config', cfg]);
    expect(made.status, made.stderr).toBe(0);
    metricsToken = made.stdout.trim();
  }, 90_000);

  afterAll(async () => {
    await ctl?.stop();
    db?.close();
    await sub?.end();
    await broker?.kill();
  });

  it('starts synchronised (as timedatectl says) and unrestricted', async () => {
    const started = rows().find((r) => r.type === 'controller_started')!;
    expect(started.data.clockSynced).toBe(true);
    expect((await status()).clock).toEqual({
      synchronised: true,
      whenUnsynchronised: 'staff_always_only',
      restriction: null,
      steps: { count: 0, last: null },
    });
    expect(await metric('sekisho_clock_synced')).toBe('1');
    expect(await metric('sekisho_clock_restricted')).toBe('0');
    expect(await metric('sekisho_clock_steps_total')).toBe('0');
    expect(await metric('sekisho_clock_last_step_seconds')).toBeUndefined();
    expect((await badge(CONTRACTOR)).body).toMatchObject({ granted: true, reason: 'granted' });
  });

  it('a step back while a door is unlocked: journaled first, and the door relocks on time', async () => {
    await until(async () => (await status()).doors[0]!.locked, 'the door locked again', 15_000);
    const before = head();
    expect((await badge(STAFF)).body).toMatchObject({ granted: true });
    const real = Date.now();
    clock.step(-3600);
    // The exit button extends the unlock in the new time: the old deadline must move back with it.
    expect((await ctl.api('POST', '/api/sim/doors/machine-room/exit-button')).status).toBe(200);
    const step = await waitRow(before, 'clock_adjusted', 'clock_adjusted');
    expect(step.data.source).toBe('unknown'); // no timesyncd or chrony here
    expect(step.data.synchronised).toBe(true);
    expect(step.data.stepMs as number).toBeGreaterThan(-HOUR - 2000);
    expect(step.data.stepMs as number).toBeLessThan(-HOUR + 2000);
    expect(step.data.to as number).toBe(step.at);
    expect((step.data.from as number) - (step.data.to as number)).toBe(-(step.data.stepMs as number));
    expect(Math.abs((step.data.from as number) - real)).toBeLessThan(5000);
    // Rows stamped in the new time come after the step's row.
    const exit = rows(before).find((r) => r.type === 'exit_request')!;
    expect(exit.seq).toBeGreaterThan(step.seq);
    expect(exit.at).toBeLessThan(real - HOUR + 5000);
    // The door relocks within its unlock time, not an hour later.
    const locked = await waitRow(step.seq, 'door_locked', 'the door to relock by its unlock time');
    expect(locked.data.cause).toBe('timeout');
    expect((await status()).doors[0]!.locked).toBe(true);
    // On MQTT, with the hash chain's fields, like every event.
    const published = await sub.waitFor(
      () =>
        sub
          .json<{ type: string; seq: number; data: unknown }>('sekisho/test-ctl/events')
          .find((e) => e.seq === step.seq),
      'clock_adjusted on MQTT',
    );
    expect(published).toMatchObject({ type: 'clock_adjusted', data: step.data });
    // On /metrics: one step, its size and its time, as journaled.
    expect(await metric('sekisho_clock_steps_total')).toBe('1');
    expect(Number(await metric('sekisho_clock_last_step_seconds'))).toBe((step.data.stepMs as number) / 1000);
    expect(Number(await metric('sekisho_clock_last_step_time_seconds'))).toBe(step.at / 1000);
  }, 60_000);

  it('the log pages across the step: every access row once, ordered by its time', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/log?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await ctl.api<{ rows: { seq: number; at: number }[]; next: string | null }>('GET', q))
        .body;
      seen.push(...page.rows.map((r) => r.seq));
      cursor = page.next;
    } while (cursor !== null && seen.length < 100);
    const access = rows().filter((r) => r.type === 'access');
    expect([...seen].sort((a, b) => a - b)).toEqual(access.map((r) => r.seq));
    // Newest first by time: the grant before the step (an hour "later") comes first.
    const byTime = [...access].sort((a, b) => b.at - a.at || b.seq - a.seq).map((r) => r.seq);
    expect(seen).toEqual(byTime);
  });

  it('unsynchronised: journaled, shown on MQTT and the API, and the policy decides real badges', async () => {
    const before = head();
    sync.set('no');
    const changed = await waitRow(before, 'clock_sync_changed', 'clock_sync_changed');
    expect(changed.data).toEqual({ synchronised: false, previous: true, restriction: 'staff_always_only' });
    expect((await status()).clock.restriction).toBe('staff_always_only');
    expect((await status()).clockSynced).toBe(false);
    expect(await metric('sekisho_clock_synced')).toBe('0');
    expect(await metric('sekisho_clock_restricted')).toBe('1');
    await sub.waitFor(
      () => doorStates().at(-1)?.clockRestriction === 'staff_always_only',
      'the door state with its restriction',
    );
    // A contractor on an every-time permission is refused; staff on one still enter; exits still open.
    expect((await badge(CONTRACTOR)).body).toEqual(
      expect.objectContaining({ granted: false, reason: 'clock_unsynchronised' }),
    );
    expect((await badge(STAFF)).body).toMatchObject({ granted: true, reason: 'granted' });
    const out = await ctl.api<{ granted: boolean }>('POST', '/api/sim/badge', {
      reader: 'exit',
      credential: CONTRACTOR,
    });
    expect(out.body.granted).toBe(true);
    const refused = rows(before).find((r) => r.type === 'access' && r.data.reason === 'clock_unsynchronised');
    expect(refused?.data.result).toBe('denied');
  });

  it('NTP answers: the step forward and the return to synchronised are journaled, the restriction ends', async () => {
    const before = head();
    clock.step(0);
    sync.set('yes');
    const step = await waitRow(before, 'clock_adjusted', 'the step forward');
    expect(step.data.stepMs as number).toBeGreaterThan(HOUR - 2000);
    expect(step.data.stepMs as number).toBeLessThan(HOUR + 2000);
    const back = await waitRow(before, 'clock_sync_changed', 'back to synchronised');
    expect(back.data).toEqual({ synchronised: true, previous: false, restriction: null });
    await until(
      async () => (await metric('sekisho_clock_steps_total')) === '2',
      'the second step on /metrics',
    );
    expect(Number(await metric('sekisho_clock_last_step_seconds'))).toBe((step.data.stepMs as number) / 1000);
    expect(await metric('sekisho_clock_restricted')).toBe('0');
    await sub.waitFor(() => doorStates().at(-1)?.clockRestriction === null, 'the door state unrestricted');
    expect((await badge(CONTRACTOR)).body).toMatchObject({ granted: true });
  });

  it('a clock nothing can tell the state of (timedatectl fails, as without systemd) counts as unsynchronised', async () => {
    const before = head();
    sync.set('fail');
    const changed = await waitRow(before, 'clock_sync_changed', 'sync state unknown');
    expect(changed.data).toEqual({ synchronised: null, previous: true, restriction: 'staff_always_only' });
    expect((await badge(CONTRACTOR)).body).toMatchObject({ granted: false, reason: 'clock_unsynchronised' });
  });
});
