import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BridgeFrame,
  type CodecEvent,
  crc16,
  createWiegandBridgeCodec,
  decodeWiegandBits,
  encodeBridgeFrame,
  normaliseCredential,
  wiegandBits,
} from '../../firmware-bridge/index.js';
import { buildTestVectors, TEST_VECTORS_FILE, type TestVectors } from '../../firmware-bridge/test-vectors.js';
import { credentials, droppedBytes, nonDropped, prng } from './util.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function feed(chunks: Buffer[], at = 0): CodecEvent[] {
  const codec = createWiegandBridgeCodec();
  return chunks.flatMap((c) => codec.push(c, at));
}

describe('CRC-16/CCITT-FALSE', () => {
  it('has the catalogue check value and the worked example from the spec', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
    expect(crc16(hex('04 01 01'))).toBe(0x334c);
  });
});

describe('Wiegand 26/34 bits', () => {
  it('lays out W26 facility 12 card 3456 with its parity bits', () => {
    // even(0) 00001100 0000110110000000 odd(1)
    expect(wiegandBits('wiegand26', 12, 3456)).toBe('00000110000001101100000001');
    expect(wiegandBits('wiegand26', 1, 1)).toBe('10000000100000000000000010');
    expect(decodeWiegandBits([...'00000110000001101100000001'].map(Number))).toEqual({
      ok: true,
      format: 'wiegand26',
      facility: 12,
      card: 3456,
      credential: 'W26:12:3456',
    });
  });

  it('lays out W34 with 16-bit facility and card', () => {
    const bits = wiegandBits('wiegand34', 1234, 56789);
    expect(bits).toHaveLength(34);
    expect(bits.slice(1, 17)).toBe((1234).toString(2).padStart(16, '0'));
    expect(bits.slice(17, 33)).toBe((56789).toString(2).padStart(16, '0'));
    expect(decodeWiegandBits([...bits].map(Number))).toMatchObject({
      ok: true,
      credential: 'W34:1234:56789',
    });
  });

  it('rejects every single flipped bit (each half has one parity bit)', () => {
    for (const [format, bits] of [
      ['wiegand26', wiegandBits('wiegand26', 200, 40000)],
      ['wiegand34', wiegandBits('wiegand34', 40000, 1)],
    ] as const) {
      for (let i = 0; i < bits.length; i++) {
        const b = [...bits].map(Number);
        b[i] = 1 - b[i]!;
        expect(decodeWiegandBits(b), `${format} bit ${i}`).toEqual({ ok: false, why: 'bad_parity' });
      }
    }
  });

  it('refuses fields out of range', () => {
    expect(() => wiegandBits('wiegand26', 256, 0)).toThrow(RangeError);
    expect(() => wiegandBits('wiegand26', 0, 65536)).toThrow(RangeError);
    expect(() => wiegandBits('wiegand34', 65536, 0)).toThrow(RangeError);
    expect(decodeWiegandBits([1, 0, 1])).toEqual({ ok: false, why: 'no_match' });
  });
});

describe('bridge frame encoder', () => {
  it('produces the frame bytes given in the spec', () => {
    expect(encodeBridgeFrame({ type: 'tamper', active: true })).toEqual(hex('A5 04 01 01 33 4C'));
    expect(encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 12, 3456) })).toEqual(
      hex('A5 03 05 1A 06 06 C0 40 E3 10'),
    );
    expect(
      encodeBridgeFrame({ type: 'heartbeat', seq: 0x12345678, uptimeMs: 0x9abcdef0, tamper: true }),
    ).toEqual(hex('A5 02 09 12345678 9ABCDEF0 01 2D44'));
  });

  it('refuses fields that do not fit', () => {
    const bad: BridgeFrame[] = [
      { type: 'heartbeat', seq: -1, uptimeMs: 0 },
      { type: 'heartbeat', seq: 2 ** 32, uptimeMs: 0 },
      { type: 'heartbeat', seq: 0, uptimeMs: 1.5 },
      { type: 'hello', major: 256, minor: 0, patch: 0 },
      { type: 'card', bits: '' },
      { type: 'card', bits: '1'.repeat(65) },
      { type: 'card', bits: '10201' },
      { type: 'raw', code: 9, payload: new Uint8Array(33) },
    ];
    for (const frame of bad)
      expect(() => encodeBridgeFrame(frame), JSON.stringify(frame)).toThrow(RangeError);
  });

  it('round-trips random W26 and W34 cards into the credential the CLI would enrol', () => {
    const next = prng(2604);
    for (let i = 0; i < 500; i++) {
      const w34 = i % 2 === 1;
      const facility = next() % (w34 ? 65536 : 256);
      const card = next() % 65536;
      const format = w34 ? 'wiegand34' : 'wiegand26';
      const events = feed([encodeBridgeFrame({ type: 'card', bits: wiegandBits(format, facility, card) })]);
      const typed = normaliseCredential(format, `${w34 ? 'W34' : 'W26'}:${facility}:${card}`);
      expect(events).toEqual([{ kind: 'credential', credential: typed, format }]);
    }
  });
});

describe('bridge frame decoder', () => {
  const card = encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 12, 3456) });
  const hb = encodeBridgeFrame({ type: 'heartbeat', seq: 0xa5a5a5a5, uptimeMs: 0xa50203a5, tamper: false });

  it('decodes heartbeat, hello and tamper frames', () => {
    expect(
      feed([
        encodeBridgeFrame({ type: 'hello', major: 1, minor: 2, patch: 3 }),
        hb,
        encodeBridgeFrame({ type: 'tamper', active: true }),
        encodeBridgeFrame({ type: 'tamper', active: false }),
      ]),
    ).toEqual([
      { kind: 'hello', protocol: 1, firmware: '1.2.3' },
      { kind: 'heartbeat', seq: 0xa5a5a5a5, uptimeMs: 0xa50203a5, tamper: false },
      { kind: 'tamper', active: true },
      { kind: 'tamper', active: false },
    ]);
  });

  it('drops a card with bad parity as bad_parity, never as a credential', () => {
    const bits = wiegandBits('wiegand34', 7, 7);
    const flipped = encodeBridgeFrame({
      type: 'card',
      bits: `${bits.slice(0, 33)}${bits[33] === '1' ? '0' : '1'}`,
    });
    const codec = createWiegandBridgeCodec();
    expect(codec.push(flipped, 0)).toEqual([{ kind: 'dropped', why: 'bad_parity', bytes: 11 }]);
    expect(codec.stats()).toMatchObject({ frames: 1, credentials: 0 });
  });

  it('drops a damaged frame as bad_checksum', () => {
    for (let i = 1; i < card.length; i++) {
      const damaged = Buffer.from(card);
      damaged[i]! ^= 0x04;
      const events = feed([damaged]);
      expect(credentials(events), `byte ${i}`).toEqual([]);
      expect(
        events.some((e) => e.kind === 'dropped'),
        `byte ${i}`,
      ).toBe(true);
    }
    expect(droppedBytes(feed([Buffer.concat([card.subarray(0, 9), Buffer.from([card[9]! ^ 1])])]))).toEqual({
      bad_checksum: 10,
    });
  });

  it('drops frames whose length does not fit their type', () => {
    // Heartbeat must be 9, payload at most 32, a card's length follows its bit count.
    expect(droppedBytes(feed([hex('A5 02 08')]))).toEqual({ bad_length: 3 });
    expect(droppedBytes(feed([hex('A5 7F 21')]))).toEqual({ bad_length: 3 });
    expect(droppedBytes(feed([hex('A5 03 05 22')]))).toEqual({ bad_length: 4 });
    expect(droppedBytes(feed([hex('A5 03 01 00')]))).toEqual({ bad_length: 3, garbage: 1 });
  });

  it('passes over unknown frame types and bit counts as no_match', () => {
    const events = feed([
      encodeBridgeFrame({ type: 'raw', code: 0x42, payload: [9, 9] }),
      encodeBridgeFrame({ type: 'card', bits: '1'.repeat(37) }),
      card,
    ]);
    expect(events).toEqual([
      { kind: 'dropped', why: 'no_match', bytes: 7 },
      { kind: 'dropped', why: 'no_match', bytes: 11 },
      { kind: 'credential', credential: 'W26:12:3456', format: 'wiegand26' },
    ]);
  });

  it('skips garbage (including stray sync bytes) before and between frames', () => {
    const events = feed([Buffer.concat([hex('00 A5 A5 FF 13'), card, hex('A5'), hb, hex('A5 03'), card])]);
    expect(credentials(events)).toEqual(['W26:12:3456', 'W26:12:3456']);
    expect(events.filter((e) => e.kind === 'heartbeat')).toHaveLength(1);
  });

  it('decodes the frame after a cut-off one at once, without waiting for more bytes', () => {
    // An unknown type claiming 32 payload bytes swallows the card frame's bytes as its own...
    const cut = hex('A5 7F 20 01 02');
    const events = feed([Buffer.concat([cut, card])]);
    // ...but the card frame is complete and intact, so it wins.
    expect(events).toEqual([
      { kind: 'dropped', why: 'bad_length', bytes: 5 },
      { kind: 'credential', credential: 'W26:12:3456', format: 'wiegand26' },
    ]);
  });

  it('gives the same result however the stream is cut into chunks', () => {
    const stream = Buffer.concat([
      hex('A5 02'),
      card,
      hb, // its payload is full of A5 bytes
      hex('FF A5 A5'),
      encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand34', 65535, 1) }),
      encodeBridgeFrame({ type: 'tamper', active: true }),
      Buffer.concat([card.subarray(0, 9), hex('00')]),
      encodeBridgeFrame({ type: 'hello', major: 0, minor: 9, patch: 1 }),
      card,
    ]);
    const whole = feed([stream]);
    expect(credentials(whole)).toEqual(['W26:12:3456', 'W34:65535:1', 'W26:12:3456']);
    expect(nonDropped(whole).map((e) => e.kind)).toEqual([
      'credential',
      'heartbeat',
      'credential',
      'tamper',
      'hello',
      'credential',
    ]);
    for (let k = 1; k < stream.length; k++) {
      const split = feed([stream.subarray(0, k), stream.subarray(k)]);
      expect(nonDropped(split), `split at ${k}`).toEqual(nonDropped(whole));
      expect(droppedBytes(split), `split at ${k}`).toEqual(droppedBytes(whole));
    }
    const bytewise = feed([...stream].map((b) => Buffer.from([b])));
    expect(nonDropped(bytewise)).toEqual(nonDropped(whole));
    expect(droppedBytes(bytewise)).toEqual(droppedBytes(whole));
  });
});

describe('shared test vectors (firmware-bridge/test-vectors.json)', () => {
  const file = JSON.parse(readFileSync(TEST_VECTORS_FILE, 'utf8')) as TestVectors;

  it('match the encoder and decoder of this version (regenerate deliberately if not)', () => {
    expect(file).toEqual(JSON.parse(JSON.stringify(buildTestVectors())));
  });

  it('cover every frame type, both Wiegand formats and each kind of damage', () => {
    const kinds = new Set(file.frames.flatMap((f) => f.decoded.map((e) => e.kind)));
    expect([...kinds].sort()).toEqual(['credential', 'dropped', 'heartbeat', 'hello', 'tamper']);
    const formats = new Set(file.frames.flatMap((f) => (f.fields ? [f.fields.format] : [])));
    expect([...formats].sort()).toEqual(['wiegand26', 'wiegand34']);
    const whys = new Set(
      file.damaged.flatMap((f) => f.decoded.flatMap((e) => (e.kind === 'dropped' ? [e.why] : []))),
    );
    expect([...whys].sort()).toEqual(['bad_checksum', 'bad_length', 'bad_parity', 'garbage', 'no_match']);
  });

  it('each vector encodes to its hex and decodes to its events', () => {
    for (const v of file.frames) {
      expect(encodeBridgeFrame(v.input).toString('hex').toUpperCase(), v.name).toBe(v.hex);
      expect(feed([hex(v.hex)]), v.name).toEqual(v.decoded);
      if (v.fields) {
        const prefix = v.fields.format === 'wiegand26' ? 'W26' : 'W34';
        expect(v.decoded).toEqual([
          {
            kind: 'credential',
            credential: `${prefix}:${v.fields.facility}:${v.fields.card}`,
            format: v.fields.format,
          },
        ]);
      }
    }
    for (const v of file.damaged) {
      expect(feed([hex(v.hex)]), v.name).toEqual(v.decoded);
      expect(credentials(v.decoded), v.name).toEqual([]);
    }
    for (const c of file.crcChecks) {
      const data = c.ascii !== undefined ? Buffer.from(c.ascii) : hex(c.hex ?? '');
      expect(`0x${crc16(data).toString(16).toUpperCase().padStart(4, '0')}`).toBe(c.crc);
    }
  });
});
