/**
 * `doors[].requireCommissioning` on a real controller and journal (the simulated board): a door that
 * requires commissioning and has no valid `door_commissioned` record opens for no badge — the refusal
 * journaled as `door_not_commissioned` — while its exit button still frees it; a passed record signed
 * by this device for its wiring lifts the bar at the next start; changed wiring brings it back. The
 * default (key absent) only flags the door. The records are written as `sekisho commission` writes
 * them (tests/integration/commission.test.ts runs the command itself).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signCommissioning } from '../../controller/commission/record.js';
import { parseConfig } from '../../controller/config/index.js';
import { commissioningChecks } from '../../controller/doctor/commissioning.js';
import { doorWiring } from '../../controller/domain/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { openStorage } from '../../controller/storage.js';
import { doorPinNames, SimBoard } from '../../hardware/index.js';
import { lockOutputLevel } from '../../hardware/lock.js';
import { makeDash, type TestDash } from '../dashboards/helpers.js';
import { doorConfig, seedStaff, simReaders, tempDir, until, writeConfig } from '../helpers/controller.js';

const STAFF = '0A1B2C3D4E';
const running: Controller[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop('test end');
});

/** A config whose door requires commissioning (or not), with a tamper pin that can be moved. */
function setUp(require: boolean | undefined, tamperPin = 24) {
  const dir = tempDir('sekisho-commission-required-');
  const raw = doorConfig(dir, simReaders());
  const door = raw.doors[0]! as Record<string, unknown>;
  door.tamper = { pin: tamperPin, debounceMs: 0 };
  if (require !== undefined) door.requireCommissioning = require;
  const file = writeConfig(dir, raw);
  seedStaff(file, { name: '山田 太郎', displayId: 'S-1', door: 'machine-room', credential: STAFF });
  return { dir, raw, file };
}

async function start(dir: string, raw: unknown) {
  const board = new SimBoard();
  const c = await Controller.start({
    loaded: {
      config: parseConfig(stringify(raw)),
      file: join(dir, 'config.yaml'),
      storageDir: join(dir, 'data'),
    },
    board,
    log: silentLogger,
  });
  running.push(c);
  return { c, board };
}

async function stop(c: Controller) {
  running.splice(running.indexOf(c), 1);
  await c.stop('test');
}

/** What `sekisho doctor` says of the doors (its commissioning check, on the storage as it is). */
function doctorSays(dir: string, raw: unknown): string[] {
  const config = parseConfig(stringify(raw));
  const loaded = { config, file: join(dir, 'config.yaml'), storageDir: join(dir, 'data') };
  const s = openStorage(loaded, { readonly: true });
  const out: string[] = [];
  try {
    commissioningChecks(loaded, s, (verdict, what, detail) => out.push(`${verdict} ${what}: ${detail}`));
  } finally {
    s.db.close();
  }
  return out;
}

/** Writes a passed, signed commissioning of the door as it is configured in `raw` (controller stopped). */
function commissioned(dir: string, raw: unknown) {
  const config = parseConfig(stringify(raw));
  const s = openStorage({ config, file: join(dir, 'config.yaml'), storageDir: join(dir, 'data') });
  try {
    const door = config.doors[0]!;
    const now = Date.now();
    const data = signCommissioning(
      door.id,
      'cli:tanaka/root',
      {
        outcome: 'passed',
        board: 'sim',
        mode: 'scripted',
        startedAt: now - 60_000,
        finishedAt: now,
        steps: [{ id: 'lock_release', result: 'passed', reason: null, detail: null, answeredBy: 'flag' }],
        readers: [],
        wiring: doorWiring(door, config.readers),
        version: 'test',
        keyId: s.secrets.keyId,
      },
      s.secrets.signingKey,
    );
    s.journal.append({
      type: 'door_commissioned',
      at: now,
      door: door.id,
      person: null,
      actor: 'cli:tanaka/root',
      data,
    });
  } finally {
    s.db.close();
  }
}

const accessRows = (c: Controller) =>
  c.journal.query({ types: ['access'], limit: 10 }).map((r) => (r.data as { reason: string }).reason);

describe('doors[].requireCommissioning', () => {
  it('true, never commissioned: every badge refused and journaled, the exit button still opens', async () => {
    const { dir, raw } = setUp(true);
    const { c, board } = await start(dir, raw);
    expect(c.status().commissioning).toEqual([
      { door: 'machine-room', required: true, state: 'not_commissioned', barred: true },
    ]);
    const lock = doorPinNames('machine-room').lock;
    const secured = lockOutputLevel(c.config.doors[0]!.lock, true);
    const entry = c.simulateBadge('entry', STAFF);
    expect(entry.decision).toEqual({ granted: false, reason: 'door_not_commissioned' });
    expect(entry.row?.data).toMatchObject({ result: 'denied', reason: 'door_not_commissioned' });
    const unknown = c.simulateBadge('entry', 'FFFFFFFFFF');
    expect(unknown.decision.reason).toBe('door_not_commissioned');
    expect(c.simulateBadge('exit', STAFF).decision).toEqual({
      granted: false,
      reason: 'door_not_commissioned',
    });
    expect(board.readOutput(lock)).toBe(secured);
    expect(accessRows(c)).toEqual([
      'door_not_commissioned',
      'door_not_commissioned',
      'door_not_commissioned',
    ]);
    // Egress is never barred: the exit button unlocks as on any door.
    board.simulate(doorPinNames('machine-room').exitButton, true);
    board.simulate(doorPinNames('machine-room').exitButton, false);
    await until(() => board.readOutput(lock) !== secured, 'the exit button to unlock');
  });

  it('a passed commissioning for this wiring lifts the bar; changed wiring brings it back', async () => {
    const { dir, raw } = setUp(true);
    let { c } = await start(dir, raw);
    expect(c.simulateBadge('entry', STAFF).decision.granted).toBe(false);
    await stop(c);
    expect(doctorSays(dir, raw)).toEqual([
      'WARN commissioning machine-room: never commissioned: no badge opens this door (requireCommissioning) until "sudo sekisho commission --door machine-room" passes',
    ]);
    commissioned(dir, raw);
    expect(doctorSays(dir, raw)).toEqual([
      'OK commissioning machine-room: commissioned for its current wiring',
    ]);
    ({ c } = await start(dir, raw));
    expect(c.status().commissioning).toEqual([
      { door: 'machine-room', required: true, state: 'ok', barred: false },
    ]);
    expect(c.simulateBadge('entry', STAFF).decision).toEqual({ granted: true, reason: 'granted' });
    await stop(c);
    // The tamper switch moved to another pin: the record no longer covers the door.
    const moved = structuredClone(raw);
    (moved.doors[0] as Record<string, unknown>).tamper = { pin: 25, debounceMs: 0 };
    ({ c } = await start(dir, moved));
    expect(c.status().commissioning).toEqual([
      { door: 'machine-room', required: true, state: 'wiring_changed', barred: true },
    ]);
    expect(c.simulateBadge('entry', STAFF).decision.reason).toBe('door_not_commissioned');
    await stop(c);
    expect(doctorSays(dir, moved)[0]).toMatch(/^WARN commissioning machine-room: its wiring changed since/);
  });

  it('absent (the default): an uncommissioned door is flagged, not barred', async () => {
    const { dir, raw } = setUp(undefined);
    const { c } = await start(dir, raw);
    expect(c.status().commissioning).toEqual([
      { door: 'machine-room', required: false, state: 'not_commissioned', barred: false },
    ]);
    expect(c.simulateBadge('entry', STAFF).decision).toEqual({ granted: true, reason: 'granted' });
    await stop(c);
    expect(doctorSays(dir, raw)).toEqual([]);
  });
});

describe('the Live page of a barred door', () => {
  let d: TestDash | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  it('says in Japanese and English that no badge opens it; an unbarred door says nothing of it', async () => {
    const dir = tempDir('sekisho-commission-live-');
    const doors = doorConfig(dir, simReaders()).doors.map((x) => ({ ...x, requireCommissioning: true }));
    d = await makeDash({ config: { doors } });
    const m = await d.login('manager1');
    const ja = (await m.req('GET', '/', undefined, { 'accept-language': 'ja' })).body;
    expect(ja).toContain('data-field="barred"');
    expect(ja).toContain('据付時の試験が済んでいないため、この扉はカードでは解錠しません');
    expect(ja).toMatch(/class="tag bad" data-field="commissioning">未実施</);
    const en = (await m.req('GET', '/', undefined, { 'accept-language': 'en' })).body;
    expect(en).toContain('No badge opens this door until it passes its commissioning');
    await d.close();
    d = await makeDash();
    const plain = (await (await d.login('manager1')).req('GET', '/', undefined, { 'accept-language': 'ja' }))
      .body;
    expect(plain).not.toContain('data-field="barred"');
    expect(plain).toMatch(/class="tag warn" data-field="commissioning">未実施</);
  });
});
