/**
 * The OSDP control panel on a real serial device (a socat pty) against the test PD simulator
 * (tests/helpers/osdp-pd, written from the standard, not from the CP): start-up, cards, LED/BUZ,
 * supervision, a swapped reader, two readers on one bus, sequence handling, garbage and floods.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { BadgeRead } from '../../../controller/domain/types.js';
import type { ReaderStatus } from '../../../firmware-bridge/index.js';
import {
  type IdentifiedEvent,
  type NakEvent,
  OsdpBus,
  type OsdpReaderSettings,
  type PowerEvent,
} from '../../../firmware-bridge/osdp/cp.js';
import { OsdpPdSim, type SeenCommand } from '../../helpers/osdp-pd/index.js';
import { makePtyPair, type PtyPair } from '../../helpers/pty.js';
import { sleep, tempDir } from '../../helpers/util.js';

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const reader = (id: string, address: number, over: Partial<OsdpReaderSettings> = {}): OsdpReaderSettings => ({
  id,
  address,
  pollMs: 50,
  // Generous for a test machine under load; the logic does not depend on the values.
  replyTimeoutMs: 150,
  offlineAfterMs: 1500,
  repeatSuppressMs: 500,
  linePattern: '^[0-9A-Fa-f]{4,32}$',
  ...over,
});

interface Rig {
  pty: PtyPair;
  sim: OsdpPdSim;
  bus: OsdpBus;
  status: ReaderStatus[];
  badges: BadgeRead[];
  ids: IdentifiedEvent[];
  naks: NakEvent[];
  tamper: { readerId: string; active: boolean }[];
  power: PowerEvent[];
  dir: string;
}

let rig: Rig | undefined;

async function setUp(
  readers: OsdpReaderSettings[],
  devices: { address: number; serial?: number }[],
  byteBudget?: { factor: number; windowMs: number; coolDownMs: number; quietMs?: number },
): Promise<Rig> {
  const dir = tempDir('sekisho-osdp-');
  const pty = await makePtyPair(dir);
  const sim = new OsdpPdSim(pty.b, devices);
  await sim.open();
  const bus = new OsdpBus({
    path: pty.a,
    baudRate: 9600,
    readers,
    reconnect: { initialMs: 50, maxMs: 400 },
    ...(byteBudget && { byteBudget }),
  });
  const r: Rig = { pty, sim, bus, status: [], badges: [], ids: [], naks: [], tamper: [], power: [], dir };
  bus.on('status', (s) => r.status.push(s));
  bus.on('badge', (b) => r.badges.push(b));
  bus.on('identified', (e) => r.ids.push(e));
  bus.on('nak', (e) => r.naks.push(e));
  bus.on('tamper', (t) => r.tamper.push(t));
  bus.on('power', (p) => r.power.push(p));
  rig = r;
  bus.start();
  return r;
}

afterEach(async () => {
  if (!rig) return;
  await rig.bus.stop();
  await rig.sim.close();
  await rig.pty.stop();
  rmSync(rig.dir, { recursive: true, force: true });
  rig = undefined;
});

const online = (r: Rig, id: string) => r.bus.status(id)?.online === true;

/**
 * The commands without their repeats: on a loaded machine a reply can miss the 150 ms timeout, and
 * the CP then rightly sends the same bytes again (checked on its own below).
 */
const distinct = (commands: SeenCommand[]) =>
  commands.filter((c, i) => i === 0 || !c.bytes.equals(commands[i - 1]!.bytes));

describe('OSDP control panel on a pty', () => {
  it('runs the start-up, identifies the reader and reads a card', async () => {
    const r = await setUp([reader('door-in', 3)], [{ address: 3, serial: 0xcafe0001 }]);
    await until('online', () => online(r, 'door-in'));
    const pd = r.sim.pd(3);
    await until('two polls', () => distinct(pd.commands).length >= 6);
    // POLL with sequence 0, then ID, CAP, LSTAT with 1, 2, 3, then POLLs 1, 2, 3, 1 …
    const first = distinct(pd.commands)
      .slice(0, 6)
      .map((c) => [c.code, c.seq]);
    expect(first).toEqual([
      [0x60, 0],
      [0x61, 1],
      [0x62, 2],
      [0x64, 3],
      [0x60, 1],
      [0x60, 2],
    ]);
    expect(r.ids).toMatchObject([
      {
        readerId: 'door-in',
        address: 3,
        vendor: '001B2C',
        model: 7,
        serial: 'CAFE0001',
        firmware: '2.1.0',
        replaces: null,
      },
    ]);
    expect(r.status.map((s) => `${s.online}:${s.reason}`)).toEqual(['true:polling']);
    r.sim.presentW26(3, 12, 3456);
    await until('badge', () => r.badges.length > 0);
    expect(r.badges[0]).toMatchObject({
      readerId: 'door-in',
      credential: 'W26:12:3456',
      format: 'wiegand26',
    });
    // Whole bytes that are not Wiegand: the card number in hex, a `line` credential.
    r.sim.presentRawBits(3, '00000100101000111011000001011010'); // 04 A3 B0 5A
    r.sim.presentFmt(3, '0a1b2c3d');
    await until('two more badges', () => r.badges.length === 3);
    expect(r.badges.slice(1).map((b) => [b.credential, b.format])).toEqual([
      ['04A3B05A', 'line'],
      ['0A1B2C3D', 'line'],
    ]);
    // Bad parity and a bit count that is neither Wiegand nor whole bytes: refused, counted.
    r.sim.presentRawBits(3, '11111111111111111111111111');
    r.sim.presentRawBits(3, '101');
    await until('rejected', () => r.bus.stats().readers[0]!.rejectedCards === 2);
    expect(r.badges).toHaveLength(3);
  });

  it('sends LED and buzzer feedback after a decision, in the poll loop', async () => {
    const r = await setUp([reader('door-in', 0)], [{ address: 0 }]);
    await until('online', () => online(r, 'door-in'));
    r.bus.feedback('door-in', 'granted');
    const pd = r.sim.pd(0);
    await until('LED and BUZ', () => pd.leds.length === 1 && pd.buzzes.length === 1);
    // Temporary state: green (2), 3 s; one 200 ms beep.
    expect(pd.leds[0]![2]).toBe(0x02);
    expect(pd.leds[0]![5]).toBe(2);
    expect([...pd.buzzes[0]!]).toEqual([0, 2, 2, 0, 1]);
    r.bus.feedback('door-in', 'escort');
    await until('amber', () => pd.leds.length === 2);
    expect(pd.leds[1]![5]).toBe(3);
  });

  it('goes offline after silence and back online through a new start-up', async () => {
    const r = await setUp([reader('door-in', 1)], [{ address: 1 }]);
    await until('online', () => online(r, 'door-in'));
    const pd = r.sim.pd(1);
    const before = pd.commands.length;
    pd.silent = true;
    await until('offline', () => r.status.some((s) => !s.online && s.reason === 'silent'));
    // While silent, the CP repeated its frame, byte for byte (same sequence), before giving up.
    const seen = pd.commands.length;
    const silent = pd.commands.slice(before, seen);
    expect(silent.length).toBeGreaterThanOrEqual(3);
    expect(silent[1]!.seq).not.toBe(0);
    expect(silent[1]!.bytes).toEqual(silent[0]!.bytes);
    expect(silent[2]!.bytes).toEqual(silent[0]!.bytes);
    pd.silent = false;
    await until('online again', () => r.status.filter((s) => s.online).length === 2);
    const again = distinct(pd.commands.slice(seen)).map((c) => [c.code, c.seq]);
    // The first frame after it answers again restarts at sequence 0 (POLL), then ID, CAP, LSTAT.
    const start = again.findIndex(([code, seq]) => code === 0x60 && seq === 0);
    expect(again.slice(start, start + 4)).toEqual([
      [0x60, 0],
      [0x61, 1],
      [0x62, 2],
      [0x64, 3],
    ]);
    expect(r.ids).toHaveLength(2);
    expect(r.status.map((s) => `${s.online}:${s.reason}`)).toEqual([
      'true:polling',
      'false:silent',
      'true:polling',
    ]);
  });

  it('reports a different serial number at the same address as a replacement', async () => {
    const r = await setUp([reader('door-in', 2)], [{ address: 2, serial: 0x11 }]);
    r.bus.knownSerial('door-in', '00000011');
    await until('online', () => online(r, 'door-in'));
    expect(r.ids[0]!.replaces).toBeNull();
    r.sim.pd(2).silent = true;
    await until('offline', () => !online(r, 'door-in') && r.bus.status('door-in')?.reason === 'silent');
    r.sim.replace(2, 0x22);
    await until('identified again', () => r.ids.length === 2);
    expect(r.ids[1]).toMatchObject({ serial: '00000022', replaces: '00000011' });
  });

  it('serves two readers on one bus, each with its own sequence', async () => {
    const r = await setUp([reader('entry', 1), reader('exit', 2)], [{ address: 1 }, { address: 2 }]);
    await until('both online', () => online(r, 'entry') && online(r, 'exit'));
    r.sim.presentW26(1, 1, 100);
    r.sim.presentW26(2, 1, 200);
    await until('two badges', () => r.badges.length === 2);
    expect(Object.fromEntries(r.badges.map((b) => [b.readerId, b.credential]))).toEqual({
      entry: 'W26:1:100',
      exit: 'W26:1:200',
    });
    // Each reader's commands run 0, 1, 2, 3, 1, 2, 3 … on their own.
    for (const a of [1, 2]) {
      const seqs = distinct(r.sim.pd(a).commands).map((c) => c.seq);
      expect(seqs[0]).toBe(0);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] === 3 ? 1 : seqs[i - 1]! + 1);
    }
    // One silent reader does not take the other offline.
    r.sim.pd(2).silent = true;
    await until('exit offline', () => r.bus.status('exit')?.reason === 'silent');
    expect(online(r, 'entry')).toBe(true);
    r.sim.presentW26(1, 1, 101);
    await until('entry still reads', () => r.badges.length === 3);
  });

  it('repeats a frame whose reply was lost with the same sequence, and the PD does not act twice', async () => {
    const r = await setUp([reader('door-in', 4)], [{ address: 4 }]);
    await until('online', () => online(r, 'door-in'));
    const pd = r.sim.pd(4);
    pd.loseReplies = 1;
    r.bus.feedback('door-in', 'denied');
    await until('retry', () => r.bus.stats().readers[0]!.retries >= 1);
    await until('buzzer', () => pd.buzzes.length === 1);
    const leds = pd.commands.filter((c) => c.code === 0x69);
    expect(leds.length).toBeGreaterThanOrEqual(2);
    for (const l of leds) expect(l.bytes).toEqual(leds[0]!.bytes);
    // The PD answered the repeat from its last reply: one LED acted on.
    expect(pd.leds).toHaveLength(1);
  });

  it('ignores a reply with the wrong sequence and repeats the command', async () => {
    const r = await setUp([reader('door-in', 5)], [{ address: 5 }]);
    await until('online', () => online(r, 'door-in'));
    const pd = r.sim.pd(5);
    pd.wrongSequence = 1;
    r.sim.presentW26(5, 9, 999);
    await until('badge', () => r.badges.length === 1);
    expect(r.bus.stats().readers[0]!.wrongSequence).toBe(1);
    expect(r.bus.stats().readers[0]!.retries).toBeGreaterThanOrEqual(1);
    expect(online(r, 'door-in')).toBe(true);
  });

  it('notes a command the reader does not know and does not send it again', async () => {
    const r = await setUp([reader('door-in', 6)], [{ address: 6 }]);
    r.sim.pd(6).unknown.add(0x6a); // no buzzer
    await until('online', () => online(r, 'door-in'));
    r.bus.feedback('door-in', 'granted');
    await until('nak', () => r.naks.length === 1);
    expect(r.naks[0]).toMatchObject({ command: 'osdp_BUZ', code: 3, name: 'unknown_command' });
    r.bus.feedback('door-in', 'denied');
    await until('second LED', () => r.sim.pd(6).leds.length === 2);
    expect(r.sim.pd(6).commands.filter((c) => c.code === 0x6a)).toHaveLength(1);
    expect(r.bus.stats().readers[0]!.unsupported).toEqual(['osdp_BUZ']);
  });

  it('restarts at sequence 0 after a sequence-error NAK', async () => {
    const r = await setUp([reader('door-in', 7)], [{ address: 7 }]);
    await until('online', () => online(r, 'door-in'));
    // The reader restarts: it expects sequence 0 again and NAKs anything else.
    const pd = r.sim.pd(7);
    pd.lastSeq = null;
    pd.lastReply = null;
    await until('sequence nak', () => r.naks.some((n) => n.name === 'sequence_error'));
    await until('identified again', () => r.ids.length === 2);
    expect(online(r, 'door-in')).toBe(true);
  });

  it('reports tamper and power from LSTATR', async () => {
    const r = await setUp([reader('door-in', 8)], [{ address: 8 }]);
    await until('online', () => online(r, 'door-in'));
    r.sim.setTamper(8, true);
    await until('tamper', () => r.tamper.length === 1);
    r.sim.setPower(8, true);
    await until('power', () => r.power.length === 1);
    r.sim.setTamper(8, false);
    await until('tamper closed', () => r.tamper.length === 2);
    expect(r.tamper.map((t) => t.active)).toEqual([true, false]);
    expect(r.power[0]).toMatchObject({ readerId: 'door-in', failing: true });
  });

  it('reads through garbage on the line', async () => {
    const r = await setUp([reader('door-in', 9)], [{ address: 9 }], {
      factor: 1000,
      windowMs: 1000,
      coolDownMs: 500,
    });
    await until('online', () => online(r, 'door-in'));
    await r.sim.inject(Buffer.from('53 00 ff ff 13 37 53 53 0a 00 04 60'.replace(/ /g, ''), 'hex'));
    await r.sim.inject(Buffer.from('hello, noise!'));
    r.sim.presentW26(9, 1, 7);
    await until('badge', () => r.badges.length === 1);
    expect(r.bus.stats().garbageBytes).toBeGreaterThan(0);
    expect(online(r, 'door-in')).toBe(true);
  });

  it('cuts a flooding line off and comes back after the cool-down', async () => {
    const r = await setUp([reader('a', 1), reader('b', 2)], [{ address: 1 }, { address: 2 }], {
      factor: 10,
      windowMs: 1000,
      coolDownMs: 500,
      quietMs: 1000,
    });
    await until('online', () => online(r, 'a') && online(r, 'b'));
    await r.sim.inject(Buffer.alloc(64 * 1024, 0x53));
    await until('flood', () => r.status.filter((s) => s.reason === 'flood').length === 2);
    expect(r.status.find((s) => s.reason === 'flood')?.flood).toEqual({ episode: 1, coolDownMs: 500 });
    await until('back', () => online(r, 'a') && online(r, 'b'));
    r.sim.presentW26(2, 3, 4);
    await until('badge', () => r.badges.length === 1);
    expect(r.bus.stats().floods).toBe(1);
  });
});
