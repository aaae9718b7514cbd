/**
 * kill -9 of a running controller, quiet and in the middle of a badge stream: after restart the
 * journal verifies, every unlock has its grant row, and presence and alarms equal what they were.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DerivedState,
  foldRow,
  initialDerivedState,
  type RecordRow,
} from '../../controller/domain/index.js';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

interface Status {
  doors: { occupants: { personId: string; since: number }[]; mode: string; locked: boolean }[];
  alarms: unknown[];
}

const STAFF = ['0A1B2C3D4E', '99AABBCCDD'];

describe('restart after kill -9', () => {
  const dir = tempDir('sekisho-kill-');
  const storage = join(dir, 'data');
  const cfgFile = writeConfig(dir, doorConfig(dir, simReaders(), { demo: { seed: true } }));
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.kill9();
  });

  function foldJournal(): DerivedState {
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    let state = initialDerivedState();
    for (const r of db
      .prepare('SELECT seq, at, type, door, person, actor, bytes FROM journal ORDER BY seq')
      .iterate() as Iterable<{
      seq: number;
      at: number;
      type: string;
      door: string | null;
      person: string | null;
      actor: string | null;
      bytes: string;
    }>) {
      state = foldRow(state, { ...r, data: JSON.parse(r.bytes).data } as RecordRow);
    }
    db.close();
    return state;
  }

  function unlocksHaveGrants() {
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    const rows = db.prepare('SELECT seq, type, bytes FROM journal ORDER BY seq').all() as {
      seq: number;
      type: string;
      bytes: string;
    }[];
    db.close();
    let lastGrantOrRequest = false;
    for (const r of rows) {
      const d = JSON.parse(r.bytes).data;
      if ((r.type === 'access' && d.result === 'granted') || r.type === 'exit_request')
        lastGrantOrRequest = true;
      if (r.type === 'door_unlocked') {
        expect(lastGrantOrRequest, `door_unlocked at seq ${r.seq} without a grant before it`).toBe(true);
      }
      if (r.type === 'door_locked') lastGrantOrRequest = false;
    }
    return rows.length;
  }

  const simplify = (s: Status) => ({
    occupants: s.doors[0]!.occupants,
    mode: s.doors[0]!.mode,
    alarms: s.alarms,
  });

  it('quiet kill: presence, alarms and mode equal their state before the kill', async () => {
    ctl = await startController(cfgFile, storage);
    await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: STAFF[0] });
    await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: STAFF[1] });
    await ctl.api('POST', '/api/sim/badge', { reader: 'exit', credential: STAFF[1] });
    await new Promise((r) => setTimeout(r, 5500)); // the unused grant relocks
    await ctl.api('POST', '/api/sim/doors/machine-room/contact', { open: true }); // forced
    await new Promise((r) => setTimeout(r, 100));
    await ctl.api('POST', '/api/sim/doors/machine-room/contact', { open: false });
    await new Promise((r) => setTimeout(r, 100));
    const before = simplify((await ctl.api<Status>('GET', '/api/status')).body);
    expect(before.occupants).toHaveLength(1);
    expect(before.alarms).toHaveLength(1);
    await ctl.kill9();
    ctl = await startController(cfgFile, storage);
    const after = simplify((await ctl.api<Status>('GET', '/api/status')).body);
    expect(after).toEqual(before);
    await ctl.kill9();
    expect(cli(['verify', '--config', cfgFile]).status).toBe(0);
  });

  it('kill in the middle of a badge stream: nothing acknowledged is lost, the chain verifies', async () => {
    ctl = await startController(cfgFile, storage);
    const acknowledged: number[] = [];
    let stop = false;
    const stream = (async () => {
      for (let i = 0; !stop; i++) {
        const reader = i % 2 === 0 ? 'entry' : 'exit';
        const credential = i % 5 === 4 ? 'DEADBEEF00' : STAFF[i % 2]!;
        try {
          const r = await ctl!.api<{ seq: number | null }>('POST', '/api/sim/badge', { reader, credential });
          if (r.status === 200 && r.body.seq) acknowledged.push(r.body.seq);
        } catch {
          return; // the controller is gone
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    await ctl.kill9();
    stop = true;
    await stream;
    expect(acknowledged.length).toBeGreaterThan(10);
    const expected = foldJournal();
    // Every acknowledged decision is in the journal.
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    const typeAt = db.prepare('SELECT type FROM journal WHERE seq = ?');
    for (const seq of acknowledged)
      expect(typeAt.get(seq), `acknowledged seq ${seq}`).toEqual({ type: 'access' });
    db.close();
    expect(unlocksHaveGrants()).toBeGreaterThan(20);
    const v = cli(['verify', '--config', cfgFile]);
    expect(v.stdout).toMatch(/journal intact/);

    ctl = await startController(cfgFile, storage);
    const after = (await ctl.api<Status>('GET', '/api/status')).body;
    const occupants = Object.values(expected.presence['machine-room'] ?? {}).map((o) => ({
      personId: o.personId,
      since: o.since,
    }));
    expect(after.doors[0]!.occupants).toEqual(occupants);
    expect(after.alarms).toEqual(Object.values(expected.alarms.active).sort((a, b) => a.id - b.id));
    expect(after.doors[0]!.locked).toBe(true);
    expect(await ctl.stop()).toBe(0);
    expect(cli(['verify', '--config', cfgFile]).status).toBe(0);
  });
});
