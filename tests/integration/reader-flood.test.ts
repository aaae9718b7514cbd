/**
 * A flooded serial port, end to end: a real pseudo-terminal (socat) as the RDM6300 reader of a real
 * `sekisho start`. Garbage far beyond the line's rate takes the reader offline with reason `flood`
 * (journal row, `reader_offline` alarm); valid frames of an enrolled card sent during the flood are
 * never decided; once the flood stops and the cool-down passes, the reader is back and a frame is
 * granted again. A second reader, a Wiegand bridge whose board never speaks (offline: silent), shows
 * that a flood is recorded and alarmed even on a reader that was already offline.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import {
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair } from '../helpers/pty.js';
import { sleep } from '../helpers/util.js';
import { enrolCard, floodUntil, noiseAndFrame } from './flood.js';

interface Row {
  seq: number;
  type: string;
  data: string;
}

const CARD = '0A1B2C3D4E';
/** Short, so the test does not wait long; the default is 5 s. */
const COOL_DOWN_MS = 1500;
/**
 * The quiet time after which a flood incident is over and its alarm's condition clears (default
 * 5 min). Repeated floods: tests/integration/reader-flood-backoff.test.ts.
 */
const QUIET_MS = 1000;

describe('a flooded RDM6300 pty: flood reported, nothing decided from it, back after the cool-down', () => {
  const dir = tempDir('sekisho-flood-');
  const storage = join(dir, 'data');
  let pty: Awaited<ReturnType<typeof makePtyPair>>;
  let pty2: Awaited<ReturnType<typeof makePtyPair>>;
  let fd2: number;
  /** The journal head before the flood. */
  let floodFrom = 0;
  let ctl: Running;
  let db: Database.Database;
  let fd: number;

  const rows = (type: string, afterSeq = 0) =>
    db
      .prepare('SELECT seq, type, bytes AS data FROM journal WHERE type = ? AND seq > ? ORDER BY seq')
      .all(type, afterSeq) as Row[];
  const dataOf = (r: Row) => JSON.parse(r.data).data;
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const readerStatus = async (id = 'entry') =>
    (
      await ctl.api<{ readers: { id: string; online: boolean; reason: string }[] }>('GET', '/api/status')
    ).body.readers.find((r) => r.id === id);
  const activeAlarms = async () =>
    (
      await ctl.api<{ alarms: { type: string; detail: string; conditionCleared: boolean }[] }>(
        'GET',
        '/api/status',
      )
    ).body.alarms;

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    pty2 = await makePtyPair(join(dir, 'pty2'));
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, [
        {
          id: 'entry',
          path: pty.b,
          protocol: 'rdm6300',
          repeatSuppressMs: 0,
          byteBudget: { coolDownMs: COOL_DOWN_MS, quietMs: QUIET_MS },
        },
        {
          id: 'exit',
          path: pty2.b,
          protocol: 'wiegand-bridge',
          offlineAfterMs: 500,
          byteBudget: { coolDownMs: COOL_DOWN_MS, quietMs: QUIET_MS },
        },
      ]),
    );
    enrolCard(cfgFile, CARD);
    ctl = await startController(cfgFile, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    fd = openSync(pty.a, 'w');
    fd2 = openSync(pty2.a, 'w');
    await until(async () => (await readerStatus())?.online, 'reader online');
  });

  afterAll(async () => {
    if (fd !== undefined) closeSync(fd);
    if (fd2 !== undefined) closeSync(fd2);
    db?.close();
    await ctl?.stop();
    await pty?.stop();
    await pty2?.stop();
  });

  it('before the flood, a frame of the enrolled card is granted', async () => {
    const before = head();
    writeSync(fd, encodeRdm6300Frame(CARD));
    const [row] = await until(() => rows('access', before).at(0) && rows('access', before), 'access row');
    expect(dataOf(row!)).toMatchObject({ result: 'granted' });
    expect((await readerStatus())?.reason).toBe('open');
  });

  it('a flood with valid frames in it: reader offline (flood), journal row and alarm, no decision', async () => {
    const before = head();
    floodFrom = before;
    // Noise with frames of the enrolled card in it, which stay intact: without the budget, every one
    // of them would be decoded and granted.
    const chunk = noiseAndFrame(CARD);
    // Keep flooding until the controller says so, and at least 200 writes.
    let frames = await floodUntil(fd, chunk, async () => (await readerStatus())?.reason === 'flood', {
      checkEvery: 20,
      maxWrites: 2000,
      atLeast: 200,
    });
    // The last frame rides in the same write as the last noise: it is inside the flood.
    writeSync(fd, chunk);
    frames++;
    const status = await until(async () => {
      const s = await readerStatus();
      return s?.reason === 'flood' ? s : undefined;
    }, 'reader reported flooding');
    expect(status.online).toBe(false);
    expect(frames).toBeGreaterThan(200);

    const offline = rows('reader_offline', before)
      .map(dataOf)
      .filter((d) => d.reader === 'entry');
    expect(offline).toEqual([{ reader: 'entry', reason: 'flood', episode: 1, coolDownMs: COOL_DOWN_MS }]);
    const raised = rows('alarm_raised', before)
      .map(dataOf)
      .filter((d) => d.detail.startsWith('reader entry'));
    expect(raised).toEqual([
      expect.objectContaining({
        alarm: 'reader_offline',
        detail: expect.stringMatching(/^reader entry: flood/),
      }),
    ]);
    const alarm = (await activeAlarms()).find((a) => a.detail.startsWith('reader entry: flood'));
    expect(alarm).toMatchObject({ conditionCleared: false, detail: expect.stringContaining('flood') });

    // Still cooling down: nothing decided from any of the frames in the flood.
    expect(rows('access', before)).toEqual([]);
  });

  it('after the flood stops and the cool-down passes: reader back, frames granted; alarm cleared after the quiet time', async () => {
    const before = head();
    const online = await until(
      async () => {
        const s = await readerStatus();
        return s?.online ? s : undefined;
      },
      'reader back online',
      COOL_DOWN_MS + 10_000,
    );
    expect(online.reason).toBe('open');
    // Nothing from the flood was decided, not even the frame in its last write.
    expect(rows('access', floodFrom)).toEqual([]);
    expect(rows('reader_online', before).map(dataOf)).toEqual([{ reader: 'entry', reason: 'open' }]);
    // The flood's alarm: its condition cleared once the reader has been back for the quiet time.
    const floodAlarm = rows('alarm_raised', floodFrom).find((r) =>
      dataOf(r).detail.startsWith('reader entry: flood'),
    );
    await until(
      () => rows('alarm_condition_cleared', before).some((r) => dataOf(r).alarmId === floodAlarm!.seq),
      'the flood alarm condition cleared',
      QUIET_MS + 10_000,
    );
    // The other reader of the door (the silent bridge) is still offline: the entry reader's return
    // clears only the entry reader's alarm, not the exit reader's.
    const exitAlarm = (await activeAlarms()).find((a) => a.detail.startsWith('reader exit: silent'));
    expect(exitAlarm).toMatchObject({ conditionCleared: false });

    writeSync(fd, encodeRdm6300Frame(CARD));
    const [row] = await until(() => rows('access', before).at(0) && rows('access', before), 'access row');
    expect(dataOf(row!)).toMatchObject({ result: 'granted', reader: 'entry' });
    await sleep(200);
    expect(rows('access', before)).toHaveLength(1);
  });

  it('a reader already offline (a silent bridge board): the flood is recorded and alarmed too', async () => {
    const exitRows = (type: string, after: number) =>
      rows(type, after)
        .map(dataOf)
        .filter((d) => d.reader === 'exit' || d.detail?.startsWith('reader exit'));
    await until(async () => (await readerStatus('exit'))?.reason === 'silent', 'exit reader silent');
    const before = head();
    await floodUntil(
      fd2,
      Buffer.alloc(16 * 1024, 0x41),
      async () => (await readerStatus('exit'))?.reason === 'flood',
      {
        checkEvery: 20,
        maxWrites: 2000,
      },
    );
    await until(async () => (await readerStatus('exit'))?.reason === 'flood', 'exit reader flooding');
    expect((await readerStatus('exit'))?.online).toBe(false);
    const flood = { reader: 'exit', reason: 'flood', episode: 1, coolDownMs: COOL_DOWN_MS };
    expect(exitRows('reader_offline', before)).toEqual([flood]);
    expect(exitRows('alarm_raised', before)).toEqual([
      expect.objectContaining({
        alarm: 'reader_offline',
        detail: expect.stringMatching(/^reader exit: flood/),
      }),
    ]);
    // The flood ends; the board is still silent: recorded, without a second alarm.
    await until(
      async () => (await readerStatus('exit'))?.reason === 'silent',
      'exit reader silent again',
      COOL_DOWN_MS + 10_000,
    );
    expect(exitRows('reader_offline', before)).toEqual([flood, { reader: 'exit', reason: 'silent' }]);
    expect(exitRows('alarm_raised', before)).toHaveLength(1);
    expect(exitRows('reader_online', before)).toEqual([]);
  });
});
