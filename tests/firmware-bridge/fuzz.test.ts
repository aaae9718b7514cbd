/**
 * 5 MB of seeded random bytes through each codec, cut into random chunks, with known frames
 * embedded at random places: exactly the embedded credentials come out, nothing throws, and the
 * codec never holds more than one frame's worth of bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  BRIDGE_MAX_FRAME,
  type Codec,
  type CodecEvent,
  createLineCodec,
  createRdm6300Codec,
  createWiegandBridgeCodec,
  encodeBridgeFrame,
  encodeRdm6300Frame,
  MAX_LINE_BYTES,
  wiegandBits,
} from '../../firmware-bridge/index.js';
import { credentials, prng, randomBytes } from './util.js';

const SIZE = 5 * 1024 * 1024;
const EMBEDDED = 200;

interface Case {
  name: string;
  codec: () => Codec;
  /** An encoded frame for the i-th embedded card and the credential it must give. */
  frame: (i: number, next: () => number) => { bytes: Buffer; credential: string };
  /** The most bytes a codec may hold between pushes. */
  maxHeld: number;
}

const hex10 = (next: () => number) => [...Array(10)].map(() => '0123456789ABCDEF'[next() % 16]).join('');

const cases: Case[] = [
  {
    name: 'rdm6300',
    codec: () => createRdm6300Codec(),
    frame: (_i, next) => {
      const id = hex10(next);
      return { bytes: encodeRdm6300Frame(id), credential: id };
    },
    maxHeld: 13,
  },
  {
    name: 'wiegand-bridge',
    codec: () => createWiegandBridgeCodec(),
    frame: (i, next) => {
      const w34 = i % 2 === 0;
      const facility = next() % (w34 ? 65536 : 256);
      const card = next() % 65536;
      const bits = wiegandBits(w34 ? 'wiegand34' : 'wiegand26', facility, card);
      return {
        bytes: encodeBridgeFrame({ type: 'card', bits }),
        credential: `W${w34 ? 34 : 26}:${facility}:${card}`,
      };
    },
    maxHeld: BRIDGE_MAX_FRAME - 1,
  },
  {
    name: 'line',
    codec: () => createLineCodec(),
    frame: (_i, next) => {
      const id = hex10(next);
      // A line reader's frame starts after a line end; the random bytes before it are a line of their own.
      return { bytes: Buffer.from(`\n${id}\r\n`), credential: id };
    },
    maxHeld: MAX_LINE_BYTES + 1,
  },
];

describe.each(cases)('$name codec under 5 MB of random bytes', (c) => {
  it('yields exactly the embedded credentials and stays bounded', () => {
    const next = prng(0x5ec15e0 + c.name.length);
    const noise = randomBytes(SIZE, next);
    // Where the frames go, in order.
    const at = [...Array(EMBEDDED)].map(() => next() % SIZE).sort((a, b) => a - b);
    const parts: Buffer[] = [];
    const expected: string[] = [];
    let from = 0;
    at.forEach((pos, i) => {
      const { bytes, credential } = c.frame(i, next);
      parts.push(noise.subarray(from, pos), bytes);
      expected.push(credential);
      from = pos;
    });
    parts.push(noise.subarray(from));
    const stream = Buffer.concat(parts);

    const codec = c.codec();
    const events: CodecEvent[] = [];
    let p = 0;
    while (p < stream.length) {
      const n = 1 + (next() % 4096);
      const out = codec.push(stream.subarray(p, p + n), 0);
      for (const e of out) events.push(e);
      p += n;
    }
    expect(credentials(events)).toEqual(expected);
    const stats = codec.stats();
    expect(stats.bytes).toBe(stream.length);
    expect(stats.credentials).toBe(EMBEDDED);
    // Whatever is still held is at most one partial frame.
    const held = codec
      .reset()
      .reduce((n, e) => n + (e.kind === 'dropped' && e.why !== 'overlong' ? e.bytes : 0), 0);
    expect(held).toBeLessThanOrEqual(c.maxHeld);
  });
});

describe('codecs on pure noise', () => {
  it('produce no credential from random bytes alone, and account for every byte', () => {
    for (const c of cases) {
      const codec = c.codec();
      const next = prng(99);
      const events: CodecEvent[] = [];
      for (let i = 0; i < 64; i++) events.push(...codec.push(randomBytes(16 * 1024, next), i));
      events.push(...codec.reset());
      expect(credentials(events), c.name).toEqual([]);
      const dropped = events.reduce((n, e) => n + (e.kind === 'dropped' ? e.bytes : 0), 0);
      const stats = codec.stats();
      expect(
        Object.values(stats.droppedBytes).reduce((a, b) => a + b, 0),
        c.name,
      ).toBe(dropped);
      if (c.name !== 'line') expect(dropped, c.name).toBe(64 * 16 * 1024);
    }
  });
});
