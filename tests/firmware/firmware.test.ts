/**
 * The bridge board firmware, compiled on the host with g++: its portable part
 * (firmware-bridge/firmware/sekisho_bridge/bridge_frame.cpp) against the shared test vectors and the
 * TypeScript encoder, its frames through the TypeScript decoder, and the whole sketch
 * (sekisho_bridge.ino) run against a simulated clock, pins and USB port.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BridgeFrame,
  type CodecEvent,
  createWiegandBridgeCodec,
  encodeBridgeFrame,
  wiegandBits,
} from '../../firmware-bridge/index.js';
import { TEST_VECTORS_FILE, type TestVectors } from '../../firmware-bridge/test-vectors.js';
import { ROOT, tempDir } from '../helpers/util.js';

const SKETCH = join(ROOT, 'firmware-bridge/firmware/sekisho_bridge');
const HERE = join(ROOT, 'tests/firmware');
const STRICT = ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1'];
const vectors = JSON.parse(readFileSync(TEST_VECTORS_FILE, 'utf8')) as TestVectors;
const run = promisify(execFile);

let dir = '';
let encoder = '';
let simRp2040 = '';
let simAvr = '';

beforeAll(async () => {
  dir = tempDir('sekisho-fw-');
  encoder = join(dir, 'encode');
  simRp2040 = join(dir, 'sim-rp2040');
  simAvr = join(dir, 'sim-avr');
  const portable = join(SKETCH, 'bridge_frame.cpp');
  const sim = ['-I', join(HERE, 'arduino'), '-I', SKETCH, portable, join(HERE, 'board_sim.cpp')];
  await Promise.all([
    run('g++', [...STRICT, '-I', SKETCH, portable, join(HERE, 'encode_main.cpp'), '-o', encoder]),
    run('g++', [...STRICT, '-DARDUINO_ARCH_RP2040', ...sim, '-o', simRp2040]),
    run('g++', [...STRICT, ...sim, '-o', simAvr]),
  ]);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a compiled driver with `lines` on stdin; returns its output lines. */
function drive(program: string, lines: string[]): string[] {
  const r = spawnSync(program, [], { input: `${lines.join('\n')}\n`, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${program} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trimEnd().split('\n');
}

/** The encoder driver's command for a frame. */
function command(f: BridgeFrame): string {
  switch (f.type) {
    case 'hello':
      return `hello ${f.protocol ?? 1} ${f.major} ${f.minor} ${f.patch}`;
    case 'heartbeat':
      return `heartbeat ${f.seq} ${f.uptimeMs} ${f.tamper ? 1 : 0}`;
    case 'tamper':
      return `tamper ${f.active ? 1 : 0}`;
    case 'card':
      return `card ${f.bits}`;
    case 'raw': {
      const payload = Buffer.from(Array.from(f.payload)).toString('hex');
      return `raw ${f.code} ${payload || '-'}`;
    }
  }
}

const decode = (hexes: string[]): CodecEvent[] =>
  createWiegandBridgeCodec().push(Buffer.from(hexes.join(''), 'hex'), 0);

describe('the firmware encoder (g++ -std=c++17 -Wall -Wextra -Werror)', () => {
  it('also compiles as C++11 with -pedantic, as the ATmega32U4 toolchain needs', async () => {
    await run('g++', [
      '-std=gnu++11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-pedantic',
      '-fsyntax-only',
      join(SKETCH, 'bridge_frame.cpp'),
    ]);
  });

  it('computes the catalogue CRC check values', () => {
    const lines = vectors.crcChecks.map(
      (c) => `crc ${c.ascii !== undefined ? Buffer.from(c.ascii).toString('hex') : c.hex || '-'}`,
    );
    expect(drive(encoder, lines).map((h) => `0x${h}`)).toEqual(vectors.crcChecks.map((c) => c.crc));
  });

  it('reproduces every frame of test-vectors.json byte for byte', () => {
    expect(vectors.frames.length).toBeGreaterThanOrEqual(15);
    const out = drive(
      encoder,
      vectors.frames.map((f) => command(f.input)),
    );
    const got = vectors.frames.map((f, i) => ({ name: f.name, hex: out[i] }));
    expect(got).toEqual(vectors.frames.map((f) => ({ name: f.name, hex: f.hex })));
  });

  it('its frames decode in the TypeScript decoder to what the vectors say, alone and as one stream', () => {
    const out = drive(
      encoder,
      vectors.frames.map((f) => command(f.input)),
    );
    vectors.frames.forEach((f, i) => {
      expect(decode([out[i]!]), f.name).toEqual(f.decoded);
    });
    expect(decode(out)).toEqual(vectors.frames.flatMap((f) => f.decoded));
    const creds = decode(out).filter((e) => e.kind === 'credential');
    expect(creds.map((e) => e.kind === 'credential' && e.credential)).toEqual(
      expect.arrayContaining(['W26:12:3456', 'W34:1234:56789', 'W26:255:65535']),
    );
  });

  it('agrees with the TypeScript encoder on 300 random frames', () => {
    let state = 0x2545f491;
    const rnd = (n: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const u32 = () => rnd(0x10000) * 0x10000 + rnd(0x10000);
    const frames: BridgeFrame[] = [];
    for (let i = 0; i < 300; i++) {
      switch (i % 5) {
        case 0:
          frames.push({ type: 'heartbeat', seq: u32(), uptimeMs: u32(), tamper: rnd(2) === 1 });
          break;
        case 1: {
          const n = 1 + rnd(64);
          frames.push({ type: 'card', bits: Array.from({ length: n }, () => String(rnd(2))).join('') });
          break;
        }
        case 2:
          frames.push({
            type: 'hello',
            protocol: rnd(256),
            major: rnd(256),
            minor: rnd(256),
            patch: rnd(256),
          });
          break;
        case 3:
          frames.push({ type: 'tamper', active: rnd(2) === 1 });
          break;
        default:
          frames.push({
            type: 'raw',
            code: 5 + rnd(250),
            payload: Array.from({ length: rnd(33) }, () => rnd(256)),
          });
      }
    }
    const out = drive(encoder, frames.map(command));
    expect(out).toEqual(frames.map((f) => encodeBridgeFrame(f).toString('hex').toUpperCase()));
    const events = decode(out);
    expect(
      events.filter((e) => e.kind === 'dropped' && e.why !== 'no_match' && e.why !== 'bad_parity'),
    ).toEqual([]);
    expect(events).toHaveLength(300);
  });

  it('refuses what the protocol cannot carry: 0 or 65 card bits, a 33-byte payload', () => {
    expect(
      drive(encoder, [
        'card ',
        `card ${'1'.repeat(65)}`,
        `card ${'1'.repeat(64)}`,
        `raw 9 ${'00'.repeat(33)}`,
      ]),
    ).toEqual([
      '-',
      '-',
      encodeBridgeFrame({ type: 'card', bits: '1'.repeat(64) })
        .toString('hex')
        .toUpperCase(),
      '-',
    ]);
  });
});

describe('the Wiegand receiver, debouncer and heartbeat schedule', () => {
  const w26 = wiegandBits('wiegand26', 12, 3456);
  const w26Hex = vectors.frames.find((f) => f.name === 'card W26 facility 12 card 3456')!.hex;
  const pulses = (bits: string, startUs: number, gapUs: number) =>
    [...bits].map((b, i) => `bit ${b} ${(startUs + i * gapUs) >>> 0}`);

  it('ends a message after 25 ms without a bit, not before', () => {
    const last = 10_000 + 25 * 2000;
    const out = drive(encoder, [
      ...pulses(w26, 10_000, 2000),
      `take ${last + 24_999}`,
      `take ${last + 25_000}`,
      `take ${last + 90_000}`,
    ]);
    expect(out.slice(-3)).toEqual(['none', w26Hex, 'none']);
  });

  it('keeps a message whole across the 2^32 µs wrap of micros(), and does not end it early when the clock read precedes a bit', () => {
    const start = 2 ** 32 - 20_000; // the wrap falls inside the message
    const lines = pulses(w26, start, 1500);
    const last = (start + 25 * 1500) >>> 0;
    const out = drive(encoder, [
      ...lines.slice(0, 13),
      // The main loop read the clock just before the interrupt added bit 13: "now" < last bit.
      `take ${(start + 12 * 1500 - 10) >>> 0}`,
      ...lines.slice(13),
      `take ${(last - 5) >>> 0}`,
      `take ${(last + 25_000) >>> 0}`,
    ]);
    expect(out.filter((l) => l !== 'ok')).toEqual(['none', 'none', w26Hex]);
  });

  it('ignores an edge within 150 µs of the previous bit (ringing) and throws away an over-long message', () => {
    const out = drive(encoder, [
      'bit 1 1000',
      'bit 0 1100', // 100 µs later: a glitch
      'bit 0 3000',
      'take 40000',
      ...Array.from({ length: 65 }, (_, i) => `bit 1 ${100_000 + i * 1000}`),
      'take 300000',
      ...pulses(w26, 400_000, 2000),
      'take 500000',
      'counters',
    ]);
    expect(out.filter((l) => l !== 'ok')).toEqual([
      encodeBridgeFrame({ type: 'card', bits: '10' }).toString('hex').toUpperCase(),
      'none',
      w26Hex,
      'overflows=1 glitches=1',
    ]);
  });

  it('debounces the tamper switch over 50 ms', () => {
    expect(
      drive(encoder, [
        'debounce 1 0',
        'debounce 1 49',
        'debounce 1 50',
        'debounce 0 60',
        'debounce 1 80',
        'debounce 1 140',
      ]),
    ).toEqual(['same 0', 'same 0', 'changed 1', 'same 1', 'same 1', 'same 1']);
    expect(
      drive(encoder, ['debounce 1 0', 'debounce 1 50', 'debounce 0 100', 'debounce 0 149', 'debounce 0 150']),
    ).toEqual(['same 0', 'changed 1', 'same 1', 'same 1', 'changed 0']);
  });

  it('schedules heartbeats every second from boot, seq from 0, one heartbeat after a stall', () => {
    expect(
      drive(encoder, [
        'beat 999',
        'beat 1000',
        'beat 1001',
        'beat 2000',
        'beat 5500',
        'beat 5600',
        'beat 6499',
        'beat 6500',
      ]),
    ).toEqual(['none', 'seq 0', 'none', 'seq 1', 'seq 2', 'none', 'none', 'seq 3']);
  });
});

describe('the whole sketch on a simulated board', () => {
  /** "<us> <hex>" lines → frames with their time, plus the trailer lines. */
  function simulate(program: string, script: string[]) {
    const out = drive(program, script);
    const frames = out
      .filter((l) => /^\d+ [0-9A-F]+$/.test(l))
      .map((l) => {
        const [us, hex] = l.split(' ');
        return { us: Number(us), hex: hex! };
      });
    return { frames, trailer: out.filter((l) => !/^\d+ [0-9A-F]+$/.test(l)) };
  }
  const cardScript = (bits: string, startUs: number, gapUs: number) =>
    [...bits].map((b, i) => `at ${startUs + i * gapUs} ${b === '1' ? 'd1' : 'd0'}`);

  it('says hello, sends the card 25 ms after its last bit, tamper changes and a heartbeat every second', () => {
    const { frames, trailer } = simulate(simRp2040, [
      'host 1',
      ...cardScript(wiegandBits('wiegand26', 12, 3456), 200_000, 2000),
      'at 1300000 tamper 1',
      'run 2050000',
    ]);
    expect(frames.map((f) => f.us)).toEqual([
      0,
      200_000 + 25 * 2000 + 25_000,
      1_000_000,
      1_350_000,
      2_000_000,
    ]);
    expect(decode(frames.map((f) => f.hex))).toEqual([
      { kind: 'hello', protocol: 1, firmware: '1.0.0' },
      { kind: 'credential', credential: 'W26:12:3456', format: 'wiegand26' },
      { kind: 'heartbeat', seq: 0, uptimeMs: 1000, tamper: false },
      { kind: 'tamper', active: true },
      { kind: 'heartbeat', seq: 1, uptimeMs: 2000, tamper: true },
    ]);
    // D0, D1 and tamper are pulled up inputs, D0/D1 interrupt on the falling edge; the RP2040
    // watchdog is armed and fed by every loop().
    expect(trailer[0]).toBe('pins 2 2 2 edge 2 2');
    expect(trailer[1]).toMatch(/^wdt 4000 [1-9]\d{4,}$/);
  });

  it('runs across the micros() and millis() wrap, and says hello again when the host opens the port', () => {
    const base = 2 ** 32 - 150_000; // micros() wraps 150 ms after power-on
    const { frames } = simulate(simAvr, [
      `base ${base}`,
      'host 0',
      ...cardScript(wiegandBits('wiegand34', 1234, 56789), 100_000, 1800),
      'at 600000 host 1',
      'run 1100000',
    ]);
    const bootMs = Math.floor(base / 1000);
    expect(decode(frames.map((f) => f.hex))).toEqual([
      { kind: 'hello', protocol: 1, firmware: '1.0.0' },
      { kind: 'credential', credential: 'W34:1234:56789', format: 'wiegand34' },
      { kind: 'hello', protocol: 1, firmware: '1.0.0' },
      { kind: 'heartbeat', seq: 0, uptimeMs: bootMs + 1000, tamper: false },
    ]);
    expect(frames[2]!.us).toBe(600_000);
  });

  it('reports an open case at boot, and never writes half a frame when the USB buffer is full', () => {
    const { frames, trailer } = simulate(simAvr, [
      'tamper 1',
      'host 1',
      'at 500000 space 8', // room for a tamper frame (6 bytes) but not a heartbeat (14)
      'at 1100000 tamper 0',
      'at 1900000 space 64',
      'run 2000000',
    ]);
    expect(decode(frames.map((f) => f.hex))).toEqual([
      { kind: 'hello', protocol: 1, firmware: '1.0.0' },
      { kind: 'tamper', active: true },
      { kind: 'tamper', active: false },
      { kind: 'heartbeat', seq: 1, uptimeMs: 2000, tamper: false },
    ]);
    expect(trailer[1]).toBe('wdt 0 0'); // no watchdog on the ATmega32U4 build
  });
});
