/**
 * Starting from a signed derived-state snapshot: the real controller on the simulated board, real
 * SQLite storage, restarted over the same folder. A start must give the same derived state as a
 * full fold, whether it used a snapshot or had to refuse one.
 */

import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { foldRows, initialDerivedState, snapshotDerivedState } from '../../controller/domain/index.js';
import {
  Journal,
  loadOrCreateDeviceSecrets,
  openDatabase,
  type SqliteDatabase,
  saveSnapshot,
} from '../../controller/journal/index.js';
import type { Logger } from '../../controller/log.js';
import type { Controller } from '../../controller/runtime/index.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

const running: Controller[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop('test end');
});

function capture() {
  const lines: string[] = [];
  const log: Logger = {
    debug() {},
    info: (msg) => lines.push(`info ${msg}`),
    warn: (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields ?? {})}`),
    error: (msg) => lines.push(`error ${msg}`),
  };
  return { lines, log };
}

async function start(dir: string) {
  const { lines, log } = capture();
  const { c } = await startInProcess(dir, {
    readers: [
      { id: 'entry', path: 'sim', protocol: 'rdm6300' },
      { id: 'exit', path: 'sim', protocol: 'rdm6300' },
    ],
    log,
  });
  running.push(c);
  return { c, lines };
}

async function stop(c: Controller) {
  running.splice(running.indexOf(c), 1);
  await c.stop('test');
}

/** The derived state of a full fold from seq 1, in snapshot form. */
const fullFold = (c: Controller) =>
  snapshotDerivedState(foldRows(initialDerivedState(), c.journal.iterate(1)));
const fromLog = (lines: string[]) => lines.filter((l) => l.includes('derived state from'));

/** A first run with people inside and a door in lockdown, stopped (which checkpoints + snapshots). */
async function firstRun() {
  const dir = tempDir('sekisho-snap-');
  const { c } = await start(dir);
  const staff = c.registry.addPerson(
    { displayId: 'S-1', name: 'Yamada', category: 'staff' },
    'test',
    Date.now(),
  );
  c.registry.addBadge({ personId: staff.id, credential: '0A1B2C3D4E' }, 'test', Date.now());
  c.registry.grantDoor(staff.id, 'machine-room', 'always', 'test', Date.now());
  expect(c.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
  c.setMode('machine-room', 'lockdown', 'test');
  c.checkpoint();
  c.setMode('machine-room', 'normal', 'test');
  await stop(c);
  const db = openDatabase(join(dir, 'data', 'journal.db'));
  const journal = new Journal(db, { controllerId: 'test-ctl' });
  const head = journal.head();
  const snaps = db.prepare<[], { seq: number }>('SELECT seq FROM snapshots ORDER BY seq').all();
  return { dir, db, journal, head, snaps: snaps.map((s) => s.seq) };
}

function closeAll(db: SqliteDatabase) {
  db.close();
}

describe('start from a signed derived-state snapshot', () => {
  it('after activity, checkpoint and stop, a restart uses the snapshot at the head and equals a full fold', async () => {
    const { dir, db, head, snaps } = await firstRun();
    expect(snaps.at(-1)).toBe(head.seq);
    expect(snaps.length).toBeGreaterThanOrEqual(2);
    closeAll(db);

    const { c, lines } = await start(dir);
    expect(fromLog(lines)).toEqual([`info derived state from snapshot at seq ${head.seq} (+0 rows)`]);
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
    expect(Object.keys(snapshotDerivedState(c.derived).presence).length).toBeGreaterThan(0);

    // Further rows past the snapshot, then another restart.
    c.setMode('machine-room', 'lockdown', 'test');
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
    await stop(c);
    const again = await start(dir);
    expect(fromLog(again.lines)).toHaveLength(1);
    expect(fromLog(again.lines)[0]).toMatch(/^info derived state from snapshot at seq \d+ \(\+0 rows\)$/);
    expect(snapshotDerivedState(again.c.derived)).toEqual(fullFold(again.c));
    expect(again.c.derived.doorModes['machine-room']).toBe('lockdown');
  });

  it('folds rows appended by another writer after the snapshot', async () => {
    const { dir, db, journal, head } = await firstRun();
    journal.append({
      type: 'mode_changed',
      at: Date.now(),
      door: 'machine-room',
      actor: 'other',
      data: { mode: 'lockdown' },
    });
    journal.append({
      type: 'mode_changed',
      at: Date.now(),
      door: 'other-door',
      actor: 'other',
      data: { mode: 'lockdown' },
    });
    closeAll(db);

    const { c, lines } = await start(dir);
    expect(fromLog(lines)).toEqual([`info derived state from snapshot at seq ${head.seq} (+2 rows)`]);
    expect(c.derived.doorModes['machine-room']).toBe('lockdown');
    expect(c.derived.doorModes['other-door']).toBe('lockdown');
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
  });

  it('refuses a snapshot signed by another key and falls back to an older good one or a full fold', async () => {
    const { dir, db, head } = await firstRun();
    const other = generateKeyPairSync('ed25519').privateKey;
    db.prepare('DELETE FROM snapshots').run();
    const state = JSON.stringify(snapshotDerivedState(initialDerivedState()));
    saveSnapshot(db, { seq: head.seq, hash: head.hash, at: Date.now(), state }, other, 'other');
    closeAll(db);

    const { c, lines } = await start(dir);
    expect(
      lines.some((l) => l.startsWith('warn derived-state snapshot rejected') && l.includes('signature')),
    ).toBe(true);
    expect(fromLog(lines)).toEqual([`info derived state from a full fold (${head.seq} rows)`]);
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
  });

  it('refuses a device-signed snapshot whose hash is not the chain row at its seq', async () => {
    const { dir, db, journal, head } = await firstRun();
    const secrets = loadOrCreateDeviceSecrets(join(dir, 'data'));
    db.prepare('DELETE FROM snapshots').run();
    // A state that differs from the truth (no presence, no modes) under a wrong hash.
    const state = JSON.stringify({ ...snapshotDerivedState(initialDerivedState()), lastSeq: head.seq });
    const wrong = journal.get(head.seq - 1)!.hash;
    saveSnapshot(
      db,
      { seq: head.seq, hash: wrong, at: Date.now(), state },
      secrets.signingKey,
      secrets.keyId,
    );
    closeAll(db);

    const { c, lines } = await start(dir);
    expect(lines.some((l) => l.includes(`hash does not match the journal row at seq ${head.seq}`))).toBe(
      true,
    );
    expect(fromLog(lines)).toEqual([`info derived state from a full fold (${head.seq} rows)`]);
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
  });

  it('ignores a correctly signed snapshot with corrupt JSON and folds the whole journal', async () => {
    const { dir, db, head } = await firstRun();
    const secrets = loadOrCreateDeviceSecrets(join(dir, 'data'));
    saveSnapshot(
      db,
      { seq: head.seq, hash: head.hash, at: Date.now(), state: '{"version":2,"lastSeq":' },
      secrets.signingKey,
      secrets.keyId,
    );
    closeAll(db);

    const { c, lines } = await start(dir);
    expect(lines.some((l) => l.startsWith('warn derived-state snapshot unusable'))).toBe(true);
    expect(fromLog(lines)).toEqual([`info derived state from a full fold (${head.seq} rows)`]);
    expect(snapshotDerivedState(c.derived)).toEqual(fullFold(c));
  });
});
