/**
 * ReaderPort on a real serial device: a socat pseudo-terminal pair. The reader opens one end with
 * the real serialport binding; the test writes RDM6300 frames into the other end.
 */
import { rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadgeRead } from '../../controller/domain/types.js';
import {
  type DroppedEvent,
  encodeRdm6300Frame,
  ReaderPort,
  type ReaderStatus,
} from '../../firmware-bridge/index.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';
import { sleep, tempDir } from '../helpers/util.js';
import { prng, randomBytes } from './util.js';

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('ReaderPort on a socat pty (RDM6300)', () => {
  const dir = tempDir('sekisho-pty-');
  let pty: PtyPair;
  let reader: ReaderPort;
  /** The device end of the pair. Written asynchronously: a blocking write would stall the reader. */
  let device: FileHandle | undefined;
  const status: ReaderStatus[] = [];
  const badges: BadgeRead[] = [];
  const dropped: DroppedEvent[] = [];
  let sentBytes = 0;
  const send = async (b: Buffer) => {
    for (let off = 0; off < b.length; ) {
      const { bytesWritten } = await device!.write(b, off);
      off += bytesWritten;
      sentBytes += bytesWritten;
    }
  };
  const transitions = () => status.map((s) => `${s.online ? 'online' : 'offline'}:${s.reason}`);

  beforeAll(async () => {
    pty = await makePtyPair(dir);
    reader = new ReaderPort({
      id: 'pty-reader',
      path: pty.a,
      baudRate: 9600,
      protocol: 'rdm6300',
      linePattern: '^[0-9A-Fa-f]{4,32}$',
      repeatSuppressMs: 500,
      offlineAfterMs: 5000,
      reconnect: { initialMs: 50, maxMs: 400 },
      // 32 KB of noise at once is a flood for a 9600-baud line; this reader is here to decode it.
      // The flood itself: tests/integration/reader-flood.test.ts.
      byteBudget: { factor: 1000, windowMs: 1000, coolDownMs: 5000 },
    });
    reader.on('status', (s) => status.push(s));
    reader.on('badge', (b) => badges.push(b));
    reader.on('dropped', (d) => dropped.push(d));
    reader.start();
    await until('online', () => status.some((s) => s.online));
    device = await open(pty.b, 'w');
  });

  afterAll(async () => {
    await device?.close();
    await reader?.stop();
    await pty?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes online when the port opens', () => {
    expect(transitions()).toEqual(['online:open']);
  });

  it('a card frame gives one badge event', async () => {
    const before = Date.now();
    await send(encodeRdm6300Frame('0A1B2C3D4E'));
    const read = await until('a badge', () => badges[0]);
    expect(read).toMatchObject({ readerId: 'pty-reader', credential: '0A1B2C3D4E', format: 'em4100' });
    expect(read.at).toBeGreaterThanOrEqual(before);
  });

  it('the frame repeated every 50 ms for 3 s gives exactly one badge event', async () => {
    const start = badges.length;
    const frame = encodeRdm6300Frame('62E3086CED');
    const end = Date.now() + 3000;
    let sent = 0;
    while (Date.now() < end) {
      await send(frame);
      sent++;
      await sleep(50);
    }
    await sleep(200); // let the last frames be read
    expect(sent).toBeGreaterThan(30);
    expect(badges.slice(start).map((b) => b.credential)).toEqual(['62E3086CED']);
    expect(reader.stats().suppressed).toBeGreaterThanOrEqual(sent - 1 - 5);
  });

  it('random bytes and bad-checksum frames give no badge event, and the reader keeps working', async () => {
    const start = badges.length;
    const droppedBefore = dropped.length;
    await send(randomBytes(32 * 1024, prng(1234)));
    for (let i = 0; i < 20; i++) await send(encodeRdm6300Frame('0A1B2C3D4E', { badChecksum: true }));
    const changed = encodeRdm6300Frame('0A1B2C3D4E');
    changed[4] = 0x39; // a data digit changed, checksum kept
    await send(changed);
    await until('all the bytes read', () => reader.stats().bytes === sentBytes);
    await sleep(100);
    expect(badges.slice(start)).toEqual([]);
    expect(dropped.length).toBeGreaterThan(droppedBefore);
    expect(reader.stats().dropped.bad_checksum).toBeGreaterThanOrEqual(21);
    await send(encodeRdm6300Frame('FFEEDDCCBB'));
    await until('a badge after the noise', () => badges.length > start);
    expect(badges.slice(start).map((b) => b.credential)).toEqual(['FFEEDDCCBB']);
  });

  it('killing socat takes the reader offline; restarting it brings the reader back online', async () => {
    await device?.close();
    device = undefined;
    await pty.stop();
    await until('offline', () => status.some((s) => !s.online));
    // It keeps retrying while the device is missing, without repeating the status.
    await sleep(600);
    expect(transitions()).toEqual(['online:open', expect.stringMatching(/^offline:/)]);
    const retriesWhileGone = reader.stats().reconnects;
    expect(retriesWhileGone).toBeGreaterThanOrEqual(2);

    pty = await makePtyPair(dir);
    await until('online again', () => status.length === 3);
    expect(transitions()[2]).toBe('online:open');
    expect(reader.stats().opens).toBe(2);

    device = await open(pty.b, 'w');
    const start = badges.length;
    await send(encodeRdm6300Frame('0123456789'));
    await until('a badge on the new connection', () => badges.length > start);
    expect(badges.slice(start).map((b) => b.credential)).toEqual(['0123456789']);
  });

  it('tells while a frame is arriving: from its first byte until it is decoded', async () => {
    const frame = encodeRdm6300Frame('0102030405');
    const seen = badges.length;
    expect(reader.receiving()).toBe(false);
    await send(frame.subarray(0, 5));
    await until('the frame arriving', () => reader.receiving());
    await send(frame.subarray(5));
    await until('the badge', () => badges.length > seen && badges.at(-1)!.credential === '0102030405');
    expect(reader.receiving()).toBe(false);
  });
});
