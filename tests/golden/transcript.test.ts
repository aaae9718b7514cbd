/**
 * The golden transcript (issue #13): a scripted session of the real `sekisho start` in simulation
 * mode, with a real Mosquitto, driven through the CLI and the HTTP API only — badges granted and
 * refused (unknown, outside the schedule, not permitted, lost), a request filed by one dashboard
 * user and approved by another, an escorted visit, a forced door and its acknowledgement, a clean
 * stop. Every journal row and every MQTT message of the session, normalised (ids, times, hashes,
 * keys, versions, ports, paths), must be byte-identical to tests/golden/transcript.golden.txt: the
 * safety net that lets the code be restructured without a change of behaviour.
 *
 * After a deliberate change of behaviour, regenerate the fixture and review its diff:
 *   UPDATE_GOLDEN=1 npx vitest run tests/golden
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { cliActor } from '../../controller/accounts/person.js';
import {
  cliJson,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { sleep, until } from '../helpers/util.js';
import { login, type Message, Normaliser, Recorder } from './transcript.js';

const FIXTURE = join(import.meta.dirname, 'transcript.golden.txt');
const BASE = 'sekisho/test-ctl';
const DISCOVERY = 'homeassistant';
/** The person behind sudo for the CLI's rows: `cli:golden/<os user>` (the OS user normalised). */
const SUDO_USER = 'golden';
const ESCORT = '0A1B2C3D4E';
const VISITOR = '5566778899';
const CONTRACTOR = '1122334455';
const UNKNOWN = 'DEADBEEF01';

interface Row {
  seq: number;
  type: string;
  bytes: string;
  hash: string;
}

let broker: Mosquitto | undefined;
let recorder: Recorder | undefined;
let ctl: Running | undefined;
let db: Database.Database | undefined;

afterAll(async () => {
  db?.close();
  await ctl?.kill9();
  await recorder?.end();
  await broker?.kill();
});

it('a scripted session writes the same journal rows and MQTT payloads as the golden transcript', async () => {
  const dir = tempDir('sekisho-golden-');
  const storage = join(dir, 'data');
  const zone = zoneNearNoon();
  broker = await startMosquitto();
  const cfg = writeConfig(
    dir,
    doorConfig(dir, simReaders(), {
      timeZone: zone,
      // Never a checkpoint on a timer during the run: only the cadence's (every 64 rows), the
      // start's and the stop's.
      storage: { path: storage, checkpointEveryS: 86_400 },
      // The heartbeat re-publishes status and state on a timer: at its longest it never fires
      // during the run, so nothing needs filtering and no message depends on how long a step took.
      mqtt: { url: broker.url, reconnectS: 1, heartbeatS: 3600, homeAssistant: { enabled: true } },
      schedules: [{ id: 'closed', name: 'never open', windows: [] }],
      visitors: {
        escortWindowS: 15,
        roomSecureS: 5,
        badgeValidity: { hours: 4 },
        // Always passed at the start (in a zone where it is about noon): the report is caught up
        // once at the start, and the next one is hours away.
        endOfDay: '06:00',
      },
    }),
  );
  recorder = await Recorder.connect(broker.url, [`${BASE}/#`, `${DISCOVERY}/#`]);
  const mqtt = recorder;

  ctl = await startController(cfg, storage);
  const running = ctl;
  db = new Database(join(storage, 'journal.db'), { readonly: true });
  const journal = db;
  const rowsAfter = (seq: number) =>
    journal
      .prepare('SELECT seq, type, bytes, hash FROM journal WHERE seq > ? ORDER BY seq')
      .all(seq) as Row[];
  const head = () =>
    (journal.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const published = () => new Set(mqtt.json<{ seq: number }>(`${BASE}/events`).map((e) => e.seq));

  /**
   * One step of the script: runs `act`, waits for a row of each of `types` after it, then (unless
   * `quiet` is false) until every row so far has arrived on MQTT and no further row follows for a
   * moment. So the next step starts from a quiet controller, and which rows there are and in what
   * order does not depend on timing. A dashboard write is journaled before its HTTP answer and
   * announced by the publisher's once-a-second look at the outbox, in seq order with everything
   * else: such a step need not wait for MQTT (which would cost a second each).
   */
  const step = async <T>(
    what: string,
    types: string[],
    act: () => Promise<T>,
    { from = head(), quiet = true }: { from?: number; quiet?: boolean } = {},
  ): Promise<T> => {
    const out = await act();
    await until(
      () => {
        const got = rowsAfter(from).map((r) => r.type);
        return types.every((t) => got.includes(t));
      },
      `${what}: rows ${types.join(', ')}`,
    );
    if (quiet) await settle(what);
    return out;
  };
  const settle = async (what: string) => {
    for (;;) {
      const h = head();
      await until(() => {
        const got = published();
        for (let s = 1; s <= h; s++) if (!got.has(s)) return false;
        return true;
      }, `${what}: rows up to ${h} on MQTT`);
      await sleep(100);
      if (head() === h) return;
    }
  };
  const badge = (reader: 'entry' | 'exit', credential: string) =>
    running.api('POST', '/api/sim/badge', { reader, credential });
  const contact = (open: boolean) => running.api('POST', '/api/sim/doors/machine-room/contact', { open });

  await step(
    'start',
    ['controller_started', 'end_of_day_report', 'mqtt_connected', 'user_added'],
    async () => undefined,
    { from: 0 },
  );
  const admin = <T>(what: string, types: string[], act: () => Promise<T>) =>
    step(what, types, act, { quiet: false });

  // The demo accounts of simulation mode, with the passwords printed once at the start.
  const password = (user: string) =>
    new RegExp(`^\\s+${user}\\s+(\\S+)\\s+\\(`, 'm').exec(running.output())![1]!;
  const manager = await admin('manager logs in', ['login_succeeded'], () =>
    login(running.base, 'demo-manager', password('demo-manager')),
  );
  const boss = await admin('admin logs in', ['login_succeeded'], () =>
    login(running.base, 'demo-admin', password('demo-admin')),
  );
  // Demo accounts must choose their own password before anything else.
  for (const [who, session] of [
    ['demo-manager', manager],
    ['demo-admin', boss],
  ] as const)
    await admin(`${who} chooses a password`, ['user_password_changed'], () =>
      session.post('/api/me/password', {
        current: password(who),
        next: `Vermilion-Harbour-93-${who.length}-${who === 'demo-admin' ? 'kite' : 'lark'}`,
      }),
    );

  // The CLI is another writer: the controller must take its rows in (the registry, MQTT).
  const host = await admin('the CLI enrols a staff member', ['person_added'], async () =>
    cliJson<{ id: string }>(
      ['person', 'add', '--config', cfg, '--name', '山田 太郎', '--id', 'S-1001', '--category', 'staff'],
      { sudo: SUDO_USER },
    ),
  ).then((p) => p.id);
  // A badge is a request, approved by another person.
  const badgeRequest = await admin('the manager requests a badge for them', ['request_created'], () =>
    manager.post<{ request: { id: number } }>(`/api/people/${host}/badges`, { number: ESCORT }),
  );
  await admin('the admin approves it', ['badge_added', 'request_approved'], () =>
    boss.post(`/api/requests/${badgeRequest.request.id}/approve`, { note: 'new staff member' }),
  );
  await step('an unknown badge is refused', ['access'], () => badge('entry', UNKNOWN));
  await step('a staff member without a grant is refused', ['access'], () => badge('entry', ESCORT));

  // A request filed by one user and approved by another.
  const grant = await admin('the manager files a grant', ['request_created'], () =>
    manager.post<{ id: number }>('/api/requests', {
      kind: 'access_grant',
      payload: { personId: host, doorId: 'machine-room', scheduleId: 'always' },
      reason: 'UPS maintenance duty',
    }),
  );
  await admin('the admin approves it', ['request_approved'], () =>
    boss.post(`/api/requests/${grant.id}/approve`, { note: 'checked with the section head' }),
  );
  await step('staff granted', ['door_unlocked'], () => badge('entry', ESCORT));
  await step('the door opens', ['door_opened'], () => contact(true));
  await step('the door closes and locks', ['door_locked'], () => contact(false));
  await step('staff out', ['door_unlocked'], () => badge('exit', ESCORT));
  await step('the door opens', ['door_opened'], () => contact(true));
  await step('the door closes and locks', ['door_locked'], () => contact(false));

  // An escorted visit: the escort right and the visitor badge are requests too.
  const escort = await admin('the manager files an escort right', ['request_created'], () =>
    manager.post<{ id: number }>('/api/requests', {
      kind: 'escort_permission',
      payload: { personId: host },
      reason: 'hosts the UPS contractor',
    }),
  );
  await admin('the admin approves it', ['request_approved'], () =>
    boss.post(`/api/requests/${escort.id}/approve`, {}),
  );
  const now = Date.now();
  const visit = await admin('the manager files a visitor badge', ['request_created'], () =>
    manager.post<{ id: number }>('/api/requests', {
      kind: 'visitor_badge',
      payload: {
        name: 'Visitor V',
        organisation: 'UPS Service Co.',
        displayId: 'V-0001',
        hostPersonId: host,
        purpose: 'UPS maintenance',
        doorId: 'machine-room',
        validFrom: now - 60_000,
        validUntil: now + 4 * 3_600_000,
        equipment: 'laptop (asset 1234)',
      },
      reason: 'annual UPS maintenance',
    }),
  );
  await admin('the admin approves it', ['request_approved'], () =>
    boss.post(`/api/requests/${visit.id}/approve`, {}),
  );
  const issued = await admin('the badge is handed out', ['visitor_badge_issued'], () =>
    manager.post<{ badgeId: string }>(`/api/requests/${visit.id}/issue-badge`, {
      number: VISITOR,
    }),
  );
  await step('the visitor badges in first (waits for the escort)', ['access'], () => badge('entry', VISITOR));
  await step('the escort badges in: one unlock', ['door_unlocked'], () => badge('entry', ESCORT));
  await step('the door opens', ['door_opened'], () => contact(true));
  await step('the door closes and locks', ['door_locked'], () => contact(false));
  await step('the escort may not leave the visitor inside', ['access'], () => badge('exit', ESCORT));
  await step('the visitor leaves', ['door_unlocked'], () => badge('exit', VISITOR));
  await step('the door opens', ['door_opened'], () => contact(true));
  await step('the door closes and locks', ['door_locked'], () => contact(false));
  await step('the escort leaves', ['door_unlocked'], () => badge('exit', ESCORT));
  await step('the door opens', ['door_opened'], () => contact(true));
  await step('the room is empty and secured', ['room_secured'], () => contact(false));
  await admin('the visitor badge comes back', ['visitor_badge_returned'], () =>
    manager.post(`/api/visitors/${issued.badgeId}/return`, { note: 'returned at the desk' }),
  );
  await step('the returned badge opens nothing', ['access'], () => badge('entry', VISITOR));

  // A contractor: granted on a schedule that is never open, then the badge is reported lost.
  const contractor = await admin('the manager enrols a contractor', ['person_added'], () =>
    manager.post<{ id: string }>('/api/people', {
      name: '鈴木 一郎',
      displayId: 'C-2001',
      category: 'contractor',
    }),
  );
  const cardRequest = await admin('with a badge request', ['request_created'], () =>
    manager.post<{ request: { id: number } }>(`/api/people/${contractor.id}/badges`, { number: CONTRACTOR }),
  );
  const card = await admin('the admin approves it', ['badge_added', 'request_approved'], () =>
    boss.post<{ result: { badgeId: string } }>(`/api/requests/${cardRequest.request.id}/approve`, {}),
  ).then((r) => ({ id: r.result.badgeId }));
  const closed = await admin('the manager files a grant on the closed schedule', ['request_created'], () =>
    manager.post<{ id: number }>('/api/requests', {
      kind: 'access_grant',
      payload: { personId: contractor.id, doorId: 'machine-room', scheduleId: 'closed' },
      reason: 'on call only',
    }),
  );
  await admin('the admin approves it', ['request_approved'], () =>
    boss.post(`/api/requests/${closed.id}/approve`, {}),
  );
  await step('refused outside the schedule', ['access'], () => badge('entry', CONTRACTOR));
  await admin('the badge is reported lost', ['badge_status_changed'], () =>
    manager.post(`/api/badges/${card.id}/lost`, { reason: 'reported lost by phone' }),
  );
  await step('the lost badge is refused', ['access'], () => badge('entry', CONTRACTOR));

  // A forced door and its acknowledgement.
  await step('the door is forced open', ['alarm_raised'], () => contact(true));
  await step('and closed again', ['door_closed'], () => contact(false));
  const alarm = rowsAfter(0).findLast((r) => r.type === 'alarm_raised')!.seq;
  await admin('the manager acknowledges the alarm', ['alarm_acknowledged'], () =>
    manager.post(`/api/alarms/${alarm}/ack`, { comment: 'checked on camera: a technician, no badge' }),
  );

  // A clean stop: the last rows, the signed checkpoint and the retained offline status.
  expect(await running.stop()).toBe(0);
  await until(
    () => mqtt.json<{ state: string }>(`${BASE}/status`).at(-1)?.state === 'offline',
    'the offline status',
  );
  await settle('stop');

  const actual = transcript(rowsAfter(0), mqtt.messages, dir, zone);
  if (process.env.UPDATE_GOLDEN) {
    writeFileSync(FIXTURE, actual);
    return;
  }
  expect(actual).toBe(readFileSync(FIXTURE, 'utf8'));
}, 60_000);

/**
 * A fixed-offset zone where it is between 11:00 and 13:00 now, so that no local midnight or daily
 * event falls inside the run whatever the hour it runs at. (`Etc/GMT-9` is UTC+9: the sign is
 * inverted.)
 */
function zoneNearNoon(): string {
  const offset = 12 - new Date().getUTCHours(); // -11 … +12
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/**
 * The normalised transcript: every journal row as stored (its canonical bytes), then every MQTT
 * message topic by topic, in the order each topic received them. Messages on different topics are
 * published from separate turns of the controller's event loop (the outbox drain, the retained
 * state, the publisher's poll of rows other writers added), so their interleaving may differ
 * between runs; on one topic the order is the controller's and must not change.
 */
function transcript(rows: Row[], messages: Message[], dir: string, zone: string): string {
  // The zone, chosen by the hour of the run, is in the config each start journals (config_loaded).
  // So is the OS user who ran `sekisho start` (its actor).
  const n = new Normaliser()
    .literal(dir, '<dir>')
    .literal(`"${zone}"`, '"<zone>"')
    .literal(`"actor":"${cliActor(userInfo().username, process.env)}"`, '"actor":"cli:<os user>"')
    .literal(`cli:${SUDO_USER}/${userInfo().username}`, `cli:${SUDO_USER}/<os user>`);
  for (const r of rows) n.rowHash(r.hash, r.seq);
  const out = [
    '# Golden transcript of tests/golden/transcript.test.ts (regenerate: UPDATE_GOLDEN=1 npx vitest run tests/golden)',
    '',
    `## journal: ${rows.length} rows (hash, canonical bytes)`,
  ];
  for (const r of rows) out.push(`${n.text(r.hash)} ${n.text(r.bytes)}`);
  const topics = [...new Set(messages.map((m) => m.topic))].sort();
  for (const topic of topics) {
    const on = messages.filter((m) => m.topic === topic);
    out.push('', `## mqtt ${n.text(topic)}: ${on.length} messages (retain flag, payload)`);
    for (const m of on)
      out.push(`${m.retain ? 'retained' : 'live'} ${n.text(withBytesNormalised(m.payload, n))}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * An event's `bytes` is the row's canonical JSON inside a JSON string (its quotes escaped), where
 * the patterns of the normaliser do not match: it is normalised as the journal row is, and put
 * back. Re-serialising is exact: the payload was written by JSON.stringify.
 */
function withBytesNormalised(payload: Buffer, n: Normaliser): string {
  const text = payload.toString('utf8');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return text;
  }
  if (!obj || typeof obj !== 'object' || typeof (obj as { bytes?: unknown }).bytes !== 'string') return text;
  if (JSON.stringify(obj) !== text) throw new Error(`a payload that JSON.stringify would not write: ${text}`);
  const o = obj as { bytes: string };
  return JSON.stringify({ ...o, bytes: n.text(o.bytes) });
}
