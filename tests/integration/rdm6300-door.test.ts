/**
 * The core path end to end: a real pseudo-terminal (socat) acts as an RDM6300 reader wired to the
 * real `sekisho start` process; the GPIO board is the simulated one, driven over its HTTP API.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import {
  cli,
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair } from '../helpers/pty.js';
import { enrolCard } from './flood.js';

interface Row {
  seq: number;
  type: string;
  data: string;
}

describe('RDM6300 reader on a real pty → decision → journal → lock', () => {
  const dir = tempDir('sekisho-rdm-');
  const storage = join(dir, 'data');
  let pty: Awaited<ReturnType<typeof makePtyPair>>;
  let ctl: Running;
  let db: Database.Database;
  let fd: number;
  let cfgFile: string;

  const rows = (type: string, afterSeq = 0) =>
    db
      .prepare('SELECT seq, type, bytes AS data FROM journal WHERE type = ? AND seq > ? ORDER BY seq')
      .all(type, afterSeq) as Row[];
  /** Rows of a type after a seq, or null while there are none (for until()). */
  const some = (type: string, afterSeq: number) => {
    const r = rows(type, afterSeq);
    return r.length > 0 ? r : null;
  };
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const lockOutput = async () =>
    (await ctl.api<Record<string, boolean>>('GET', '/api/sim/outputs')).body['machine-room.lock'];
  const send = (buf: Buffer) => writeSync(fd, buf);

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    cfgFile = writeConfig(
      dir,
      doorConfig(
        dir,
        [
          // 64 KB of noise at once is a flood for a 9600-baud line (tests/integration/reader-flood.test.ts
          // covers that); this reader is here to decode the noise, so its budget is raised.
          {
            id: 'entry',
            path: pty.b,
            protocol: 'rdm6300',
            repeatSuppressMs: 1000,
            byteBudget: { factor: 1000 },
          },
          // A WAL checkpoint due at every tick with a page waiting (the default waits for 1,000), so
          // that one falls due while the slow frame below arrives.
        ],
        { storage: { path: storage, walCheckpointPages: 0 } },
      ),
    );
    enrolCard(cfgFile, '0A1B2C3D4E');
    ctl = await startController(cfgFile, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    fd = openSync(pty.a, 'w');
    await until(
      async () =>
        (await ctl.api<{ readers: { online: boolean }[] }>('GET', '/api/status')).body.readers[0]?.online,
      'reader online',
    );
  });

  afterAll(async () => {
    if (fd !== undefined) closeSync(fd);
    db?.close();
    await ctl?.stop();
    await pty?.stop();
  });

  it('starts with the door secured (fail-secure strike: relay not energised)', async () => {
    expect(await lockOutput()).toBe(false);
    expect(rows('door_locked').length).toBeGreaterThan(0);
  });

  it('a known badge: grant row committed, lock opened, door opened and closed, relocked', async () => {
    const before = head();
    send(encodeRdm6300Frame('0A1B2C3D4E'));
    const [grant] = await until(() => some('access', before), 'access row');
    const data = JSON.parse(grant!.data).data;
    expect(data).toMatchObject({ result: 'granted', reason: 'granted', direction: 'in', masked: '••••3D4E' });
    expect(grant!.data).not.toContain('0A1B2C3D4E');
    await until(lockOutput, 'lock output energised (unlocked)');
    // The unlock record comes after the committed grant row.
    const unlocked = await until(() => some('door_unlocked', before), 'door_unlocked row');
    expect(unlocked[0]!.seq).toBeGreaterThan(grant!.seq);
    expect((await ctl.api('POST', '/api/sim/doors/machine-room/contact', { open: true })).status).toBe(200);
    await until(() => rows('door_opened', before).length === 1, 'door_opened row');
    expect((await ctl.api('POST', '/api/sim/doors/machine-room/contact', { open: false })).status).toBe(200);
    await until(() => rows('door_closed', before).length === 1, 'door_closed row');
    await until(async () => (await lockOutput()) === false, 'relocked');
    expect(rows('door_locked', before).length).toBe(1);
    expect(JSON.parse(rows('door_opened', before)[0]!.data).data.authorized).toBe(true);
    expect(rows('alarm_raised', before)).toEqual([]);
  });

  it('an unknown badge: a denied row, the lock never moves', async () => {
    const before = head();
    send(encodeRdm6300Frame('FFEEDDCCBB'));
    const [row] = await until(() => some('access', before), 'denied row');
    expect(JSON.parse(row!.data).data).toMatchObject({
      result: 'denied',
      reason: 'unknown_badge',
      masked: '••••CCBB',
    });
    expect(await lockOutput()).toBe(false);
    expect(rows('door_unlocked', before)).toEqual([]);
  });

  it('a card held for 3 s (a frame every 50 ms) gives one decision', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the earlier presentation's suppression lapse
    const before = head();
    const frame = encodeRdm6300Frame('0A1B2C3D4E');
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      send(frame);
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => rows('access', before).length >= 1, 'one access row');
    await new Promise((r) => setTimeout(r, 300));
    expect(rows('access', before).length).toBe(1);
    // close the loop: let it relock
    await until(async () => (await lockOutput()) === false, 'relock after unlock time', 8000);
  });

  it('random bytes and frames with bad checksums give no decision', async () => {
    const before = head();
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = rand();
    send(garbage);
    const bad = encodeRdm6300Frame('0A1B2C3D4E');
    bad[11] = bad[11] === 0x30 ? 0x31 : 0x30; // corrupt the checksum
    for (let i = 0; i < 20; i++) send(bad);
    const wrongData = Buffer.from(encodeRdm6300Frame('0A1B2C3D4E'));
    wrongData[5] = 0x39; // a data digit changed, checksum kept
    send(wrongData);
    await new Promise((r) => setTimeout(r, 800));
    expect(rows('access', before)).toEqual([]);
    expect(await lockOutput()).toBe(false);
    // The reader still works after the garbage.
    send(encodeRdm6300Frame('FFEEDDCCBB'));
    await until(() => rows('access', before).length === 1, 'a decision after the garbage');
  });

  it('a WAL checkpoint that falls due while a frame is arriving waits until the frame is decided', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the earlier presentation's suppression lapse
    const wal = async () =>
      (await ctl.api<{ journal: { walCheckpoints: { waitedForFrames: number } } }>('GET', '/api/status')).body
        .journal.walCheckpoints;
    const waitedBefore = (await wal()).waitedForFrames;
    const before = head();
    // A byte every 60 ms: the frame takes 720 ms to arrive, longer than the 500 ms between checkpoints.
    const frame = encodeRdm6300Frame('FFEEDDCCBB');
    for (let i = 0; i < frame.length - 1; i++) {
      send(frame.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 60));
    }
    send(frame.subarray(frame.length - 1));
    await until(() => rows('access', before).length === 1, 'the decision');
    expect((await wal()).waitedForFrames).toBeGreaterThan(waitedBefore);
  });

  it('stops cleanly on SIGTERM with the door secured and the journal intact', async () => {
    expect(await ctl.stop()).toBe(0);
    const stopped = rows('controller_stopped');
    expect(stopped.length).toBe(1);
    const v = cli(['verify', '--config', cfgFile]);
    expect(v.stdout).toMatch(/journal intact/);
    expect(v.status).toBe(0);
  });
});
