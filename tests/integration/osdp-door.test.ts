/**
 * OSDP end to end: the real `sekisho start` process polls two simulated readers (entry at address
 * 1, exit at address 2) sharing one RS-485 bus, here a socat pty; the reader simulator is
 * tests/helpers/osdp-pd (its own implementation of the standard). The GPIO board is simulated.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  doorConfig,
  type Running,
  seedStaff,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { OsdpPdSim } from '../helpers/osdp-pd/index.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';

interface Row {
  seq: number;
  type: string;
  data: string;
}

describe('OSDP readers on one bus → decision → journal → lock → LED', () => {
  const dir = tempDir('sekisho-osdp-door-');
  const storage = join(dir, 'data');
  let pty: PtyPair;
  let sim: OsdpPdSim;
  let ctl: Running | undefined;
  let db: Database.Database;
  let cfgFile: string;

  const rows = (type: string, afterSeq = 0) =>
    db
      .prepare('SELECT seq, type, bytes AS data FROM journal WHERE type = ? AND seq > ? ORDER BY seq')
      .all(type, afterSeq) as Row[];
  const some = (type: string, afterSeq: number) => {
    const r = rows(type, afterSeq);
    return r.length > 0 ? r : null;
  };
  const data = (r: Row) => JSON.parse(r.data).data;
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const lockOutput = async () =>
    (await ctl!.api<Record<string, boolean>>('GET', '/api/sim/outputs')).body['machine-room.lock'];
  const readersOnline = async () =>
    (await ctl!.api<{ readers: { id: string; online: boolean }[] }>('GET', '/api/status')).body.readers.every(
      (r) => r.online,
    );

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    sim = new OsdpPdSim(pty.a, [
      { address: 1, serial: 0xa0000001 },
      { address: 2, serial: 0xa0000002 },
    ]);
    await sim.open();
    const osdp = { baudRate: 9600, pollMs: 50, replyTimeoutMs: 100, offlineAfterMs: 1500, secure: false };
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, [
        { id: 'entry', path: pty.b, protocol: 'osdp', osdp: { ...osdp, address: 1 } },
        { id: 'exit', path: pty.b, protocol: 'osdp', osdp: { ...osdp, address: 2 } },
      ]),
    );
    seedStaff(cfgFile, {
      name: 'Yamada Taro',
      displayId: 'S-1',
      door: 'machine-room',
      credential: 'W26:12:3456',
    });
    ctl = await startController(cfgFile, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    await until(readersOnline, 'both readers online');
  });

  afterAll(async () => {
    db?.close();
    await ctl?.stop();
    await sim?.close();
    await pty?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('journals each reader’s identity, as a plain link', async () => {
    const ids = await until(
      () => (rows('reader_identified').length === 2 ? rows('reader_identified') : null),
      'ids',
    );
    expect(ids.map(data)).toEqual([
      expect.objectContaining({
        reader: expect.any(String),
        link: 'plain',
        vendor: '001B2C',
        firmware: '2.1.0',
      }),
      expect.objectContaining({ link: 'plain' }),
    ]);
    expect(new Set(ids.map((r) => `${data(r).reader}:${data(r).serial}`))).toEqual(
      new Set(['entry:A0000001', 'exit:A0000002']),
    );
    expect(rows('reader_replaced')).toEqual([]);
  });

  it('a known card at the entry: grant committed, lock opened, then the LED shows green', async () => {
    const before = head();
    // When the LED command reaches the reader, the grant must already be in the journal.
    let committedWhenLed: boolean | undefined;
    sim.commandHook = (c) => {
      if (c.address === 1 && c.code === 0x69 && committedWhenLed === undefined)
        committedWhenLed = rows('access', before).length > 0;
    };
    const leds = sim.pd(1).leds.length;
    sim.presentW26(1, 12, 3456);
    const [grant] = await until(() => some('access', before), 'access row');
    expect(data(grant!)).toMatchObject({
      result: 'granted',
      direction: 'in',
      format: 'wiegand26',
      reader: 'entry',
    });
    await until(lockOutput, 'lock output energised');
    await until(() => sim.pd(1).leds.length > leds, 'LED at the reader');
    expect(committedWhenLed).toBe(true);
    expect(sim.pd(1).leds.at(-1)![5]).toBe(2); // green
    sim.commandHook = undefined;
    await until(async () => (await lockOutput()) === false, 'relocked');
  });

  it('an unknown card at the exit: denied, the lock never moves, the LED shows red', async () => {
    const before = head();
    const leds = sim.pd(2).leds.length;
    sim.presentW26(2, 99, 1);
    const [row] = await until(() => some('access', before), 'denied row');
    expect(data(row!)).toMatchObject({
      result: 'denied',
      reason: 'unknown_badge',
      direction: 'out',
      reader: 'exit',
    });
    await until(() => sim.pd(2).leds.length > leds, 'LED at the exit reader');
    expect(sim.pd(2).leds.at(-1)![5]).toBe(1); // red
    expect(await lockOutput()).toBe(false);
    expect(rows('door_unlocked', before)).toEqual([]);
  });

  it('a tamper report from the reader raises reader_tamper', async () => {
    const before = head();
    sim.setTamper(2, true);
    const [alarm] = await until(() => some('alarm_raised', before), 'alarm');
    expect(data(alarm!)).toMatchObject({ alarm: 'reader_tamper', source: 'exit' });
    sim.setTamper(2, false);
    await until(() => some('alarm_condition_cleared', before), 'condition cleared');
  });

  it('a reader’s power failure raises power_failure on its door; a refused command is journaled once', async () => {
    const before = head();
    sim.setPower(1, true);
    const [alarm] = await until(() => some('alarm_raised', before), 'power alarm');
    expect(data(alarm!)).toMatchObject({ alarm: 'power_failure', source: 'entry' });
    sim.setPower(1, false);
    await until(() => some('alarm_condition_cleared', before), 'power condition cleared');
    // A reader without a buzzer: it refuses osdp_BUZ after each decision; one row says so.
    sim.pd(2).unknown.add(0x6a);
    for (let i = 0; i < 2; i++) {
      const seq = head();
      sim.presentW26(2, 98, 2 + i);
      await until(() => some('access', seq), 'denied row');
    }
    const [refused] = await until(() => some('reader_refused', before), 'reader_refused row');
    expect(data(refused!)).toMatchObject({
      reader: 'exit',
      command: 'osdp_BUZ',
      code: 3,
      name: 'unknown_command',
    });
    await until(() => sim.pd(2).commands.filter((c) => c.code === 0x69).length >= 2, 'LEDs still sent');
    expect(rows('reader_refused', before)).toHaveLength(1);
  });

  it('a silent reader goes offline (reader_offline alarm) and comes back', async () => {
    const before = head();
    sim.pd(2).silent = true;
    const [off] = await until(() => some('reader_offline', before), 'reader_offline row');
    expect(data(off!)).toMatchObject({ reader: 'exit', reason: 'silent' });
    expect(rows('alarm_raised', before).map((r) => data(r).alarm)).toContain('reader_offline');
    sim.pd(2).silent = false;
    const [on] = await until(() => some('reader_online', before), 'reader_online row');
    expect(data(on!)).toMatchObject({ reader: 'exit' });
    // The entry reader on the same bus stayed online throughout.
    expect(rows('reader_offline', before).map((r) => data(r).reader)).toEqual(['exit']);
  });

  it('a different unit at the entry’s address after a restart: reader_replaced and an alarm', async () => {
    await ctl!.stop();
    ctl = undefined;
    const before = head();
    sim.replace(1, 0xbad00001);
    ctl = await startController(cfgFile, storage);
    const [replaced] = await until(() => some('reader_replaced', before), 'reader_replaced row');
    expect(data(replaced!)).toMatchObject({
      reader: 'entry',
      previousSerial: 'A0000001',
      serial: 'BAD00001',
    });
    const alarms = rows('alarm_raised', before).map(data);
    expect(alarms).toContainEqual(expect.objectContaining({ alarm: 'reader_tamper', source: 'entry' }));
    // The exit reader is the same unit as before: no replacement.
    expect(rows('reader_replaced', before)).toHaveLength(1);
  });
});
