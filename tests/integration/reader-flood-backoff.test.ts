/**
 * A reader flooded again and again, end to end: a real pseudo-terminal (socat) as the RDM6300 reader
 * of a real `sekisho start`. Each flood that starts soon after the reader came back gets twice the
 * cool-down of the one before (up to maxCoolDownMs); every episode is journaled, but the incident
 * raises ONE `reader_offline` alarm, whose condition clears only once the reader has stayed within
 * its budget for quietMs. Between floods the reader works (a card is granted); nothing inside a flood
 * is ever decided. After the quiet time, a new flood is a new incident at the base cool-down.
 *
 * The timings are the test's inputs (short cool-downs); no assertion bounds how fast anything runs.
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
  at: number;
  type: string;
  data: string;
}

const CARD = '0A1B2C3D4E';
const BUDGET = { coolDownMs: 500, maxCoolDownMs: 2000, quietMs: 4000 };
/** The cool-downs of episodes 1…5 of one incident. */
const COOL_DOWNS = [500, 1000, 2000, 2000, 2000];
const FLOOD_DETAIL = /^reader entry: flood/;

describe('a reader flooded again and again: growing cool-downs, one alarm, cleared after quiet', () => {
  const dir = tempDir('sekisho-flood-backoff-');
  const storage = join(dir, 'data');
  let pty: Awaited<ReturnType<typeof makePtyPair>>;
  let ctl: Running;
  let db: Database.Database;
  let fd: number;
  let start = 0;

  const rows = (type: string, afterSeq = 0) =>
    db
      .prepare('SELECT seq, at, type, bytes AS data FROM journal WHERE type = ? AND seq > ? ORDER BY seq')
      .all(type, afterSeq) as Row[];
  const dataOf = (r: Row) => JSON.parse(r.data).data;
  const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
  const statusOf = async () =>
    (
      await ctl.api<{
        readers: { id: string; online: boolean; reason: string }[];
        alarms: { id: number; type: string; detail: string; conditionCleared: boolean }[];
      }>('GET', '/api/status')
    ).body;
  const readerStatus = async () => (await statusOf()).readers.find((r) => r.id === 'entry');
  const floodRows = (after: number) =>
    rows('reader_offline', after)
      .map(dataOf)
      .filter((d) => d.reader === 'entry' && d.reason === 'flood');
  const floodAlarms = (after: number) =>
    rows('alarm_raised', after).filter((r) => FLOOD_DETAIL.test(dataOf(r).detail));

  /** Noise and frames of the enrolled card: without the budget, every such frame would be granted. */
  const chunk = noiseAndFrame(CARD);

  /** Flood until the controller has journaled `episodes` flood rows since `after`, then stop. */
  async function flood(after: number, episodes: number): Promise<void> {
    await floodUntil(fd, chunk, () => floodRows(after).length >= episodes, {
      checkEvery: 10,
      maxWrites: 4000,
    });
  }

  /** The reader back online; then one frame of the card, which must be granted. */
  async function backAndGranted(): Promise<void> {
    await until(async () => (await readerStatus())?.online, 'reader back online', 10_000);
    const before = head();
    writeSync(fd, encodeRdm6300Frame(CARD));
    const [row] = await until(() => rows('access', before).at(0) && rows('access', before), 'access row');
    expect(dataOf(row!)).toMatchObject({ result: 'granted', reader: 'entry' });
  }

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, [
        { id: 'entry', path: pty.b, protocol: 'rdm6300', repeatSuppressMs: 0, byteBudget: BUDGET },
        { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
      ]),
    );
    enrolCard(cfgFile, CARD);
    ctl = await startController(cfgFile, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    fd = openSync(pty.a, 'w');
    await until(async () => (await readerStatus())?.online, 'reader online');
    start = head();
  });

  afterAll(async () => {
    if (fd !== undefined) closeSync(fd);
    db?.close();
    await ctl?.stop();
    await pty?.stop();
  });

  it('floods right after each return: each episode recorded with a doubled cool-down, one alarm held', async () => {
    const grantsBetween: number[] = [];
    for (let n = 1; n <= COOL_DOWNS.length; n++) {
      await flood(start, n);
      expect((await readerStatus())?.reason).toBe('flood');
      await backAndGranted();
      grantsBetween.push(rows('access', start).length);
      // Back, but the incident is not over: the one alarm's condition still holds.
      const alarms = (await statusOf()).alarms.filter((a) => FLOOD_DETAIL.test(a.detail));
      expect(alarms).toEqual([expect.objectContaining({ type: 'reader_offline', conditionCleared: false })]);
    }

    // Every episode is in the journal, with its number and its (doubling) cool-down.
    expect(floodRows(start)).toEqual(
      COOL_DOWNS.map((coolDownMs, i) => ({ reader: 'entry', reason: 'flood', episode: i + 1, coolDownMs })),
    );
    // And every return.
    expect(
      rows('reader_online', start)
        .map(dataOf)
        .filter((d) => d.reader === 'entry'),
    ).toHaveLength(COOL_DOWNS.length);
    // Each return came no earlier than its episode's cool-down after the flood was reported.
    const offline = rows('reader_offline', start).filter((r) => dataOf(r).reader === 'entry');
    const online = rows('reader_online', start).filter((r) => dataOf(r).reader === 'entry');
    offline.forEach((r, i) => {
      expect(online[i]!.at - r.at).toBeGreaterThanOrEqual(COOL_DOWNS[i]! - 50);
    });

    // One alarm for the whole incident, never cleared in between.
    expect(floodAlarms(start)).toHaveLength(1);
    expect(rows('alarm_condition_cleared', start)).toEqual([]);
    // Only the frames sent between floods were decided — one grant after each return, none from
    // the hundreds of frames inside the floods.
    expect(grantsBetween).toEqual([1, 2, 3, 4, 5]);
    expect(rows('access', start).map((r) => dataOf(r).result)).toEqual(Array(5).fill('granted'));
  });

  it('quiet for quietMs: the incident is over, the alarm condition clears once', async () => {
    const [alarm] = floodAlarms(start);
    const lastFlood = rows('reader_offline', start).at(-1)!;
    const cleared = await until(
      () => rows('alarm_condition_cleared', start).find((r) => dataOf(r).alarmId === alarm!.seq),
      'the flood alarm condition cleared',
      BUDGET.quietMs + 10_000,
    );
    // Not before the last episode's cool-down and then the quiet time (timers: a lower bound only).
    expect(cleared.at - lastFlood.at).toBeGreaterThanOrEqual(COOL_DOWNS.at(-1)! + BUDGET.quietMs - 50);
    expect((await readerStatus())?.online).toBe(true);
    await sleep(300);
    expect(rows('alarm_condition_cleared', start)).toHaveLength(1);
    // Nothing new was journaled about the reader: settling is not a transition.
    expect(floodRows(start)).toHaveLength(COOL_DOWNS.length);
  });

  it('a flood after the quiet time is a new incident: base cool-down, a new alarm', async () => {
    const before = head();
    await flood(before, 1);
    expect(floodRows(before)).toEqual([{ reader: 'entry', reason: 'flood', episode: 1, coolDownMs: 500 }]);
    expect(floodAlarms(before)).toHaveLength(1);
    await backAndGranted();
    expect(floodAlarms(start)).toHaveLength(2);
  });
});
