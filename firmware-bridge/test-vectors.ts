/**
 * Shared test vectors for the bridge frame: input fields → the exact frame bytes, and what the
 * decoder makes of them. The bridge firmware's encoder is checked against the same file.
 *
 * Regenerate (only when the protocol deliberately changes): npx tsx firmware-bridge/test-vectors.ts
 * tests/firmware-bridge checks that firmware-bridge/test-vectors.json matches this builder.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc16 } from './codecs/crc16.js';
import type { CodecEvent } from './codecs/types.js';
import { type WiegandFormat, wiegandBits } from './codecs/wiegand.js';
import { type BridgeFrame, createWiegandBridgeCodec, encodeBridgeFrame } from './codecs/wiegand-bridge.js';

export interface FrameVector {
  name: string;
  /** The encoder's input (`card.bits`: '0'/'1' in D0/D1 arrival order). */
  input: BridgeFrame;
  /** For Wiegand cards: the fields the bits were built from. */
  fields?: { format: WiegandFormat; facility: number; card: number };
  /** The frame, upper-case hex, no separators. */
  hex: string;
  /** What the decoder emits for exactly these bytes. */
  decoded: CodecEvent[];
}

export interface DamagedVector {
  name: string;
  hex: string;
  decoded: CodecEvent[];
}

export interface TestVectors {
  description: string;
  protocol: number;
  crc: { name: string; poly: string; init: string; refin: boolean; refout: boolean; xorout: string };
  crcChecks: { ascii?: string; hex?: string; crc: string }[];
  frames: FrameVector[];
  damaged: DamagedVector[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const crcHex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

function decode(bytes: Buffer): CodecEvent[] {
  return createWiegandBridgeCodec().push(bytes, 0);
}

function card(format: WiegandFormat, facility: number, cardNo: number): Omit<FrameVector, 'hex' | 'decoded'> {
  const prefix = format === 'wiegand26' ? 'W26' : 'W34';
  return {
    name: `card ${prefix} facility ${facility} card ${cardNo}`,
    input: { type: 'card', bits: wiegandBits(format, facility, cardNo) },
    fields: { format, facility, card: cardNo },
  };
}

export function buildTestVectors(): TestVectors {
  const specs: Omit<FrameVector, 'hex' | 'decoded'>[] = [
    {
      name: 'hello, protocol 1, firmware 1.0.0',
      input: { type: 'hello', protocol: 1, major: 1, minor: 0, patch: 0 },
    },
    { name: 'heartbeat seq 0, uptime 0', input: { type: 'heartbeat', seq: 0, uptimeMs: 0, tamper: false } },
    {
      name: 'heartbeat seq 1, uptime 1000 ms',
      input: { type: 'heartbeat', seq: 1, uptimeMs: 1000, tamper: false },
    },
    {
      name: 'heartbeat seq 0x12345678, uptime 0x9ABCDEF0 ms, tamper open',
      input: { type: 'heartbeat', seq: 0x12345678, uptimeMs: 0x9abcdef0, tamper: true },
    },
    {
      name: 'heartbeat at the wrap, tamper open',
      input: { type: 'heartbeat', seq: 0xffffffff, uptimeMs: 0xffffffff, tamper: true },
    },
    { name: 'tamper open', input: { type: 'tamper', active: true } },
    { name: 'tamper closed', input: { type: 'tamper', active: false } },
    card('wiegand26', 12, 3456),
    card('wiegand26', 0, 0),
    card('wiegand26', 255, 65535),
    card('wiegand26', 1, 1),
    card('wiegand34', 1234, 56789),
    card('wiegand34', 0, 0),
    card('wiegand34', 65535, 65535),
    {
      name: 'card, 37 bits (a format the decoder does not know)',
      input: { type: 'card', bits: '1010101010101010101010101010101010101' },
    },
    { name: 'card, 8 bits (a keypad key)', input: { type: 'card', bits: '11100001' } },
    { name: 'unknown frame type 0x7F', input: { type: 'raw', code: 0x7f, payload: [1, 2, 3] } },
  ];
  const frames = specs.map((s) => {
    const bytes = encodeBridgeFrame(s.input);
    return { ...s, hex: hex(bytes), decoded: decode(bytes) };
  });

  const damaged: DamagedVector[] = [];
  const add = (name: string, bytes: Buffer) =>
    damaged.push({ name, hex: hex(bytes), decoded: decode(bytes) });

  const w26 = wiegandBits('wiegand26', 12, 3456);
  const flipped = `${w26.slice(0, 25)}${w26[25] === '1' ? '0' : '1'}`;
  add(
    'W26 12:3456 with the odd parity bit flipped (CRC valid)',
    encodeBridgeFrame({ type: 'card', bits: flipped }),
  );
  const w34 = wiegandBits('wiegand34', 1234, 56789);
  const flipped34 = `${w34[0] === '1' ? '0' : '1'}${w34.slice(1)}`;
  add(
    'W34 1234:56789 with the even parity bit flipped (CRC valid)',
    encodeBridgeFrame({ type: 'card', bits: flipped34 }),
  );

  const badCrc = encodeBridgeFrame({ type: 'heartbeat', seq: 1, uptimeMs: 1000 });
  badCrc[badCrc.length - 1]! ^= 0x01;
  add('heartbeat with the last CRC byte changed', badCrc);

  const badData = encodeBridgeFrame({ type: 'card', bits: w26 });
  badData[5]! ^= 0x10;
  add('W26 card with one data bit changed, CRC not updated', badData);

  // A heartbeat claiming 8 payload bytes, CRC computed over what was sent: wrong length for its type.
  const shortHb = Buffer.from([0xa5, 0x02, 0x08, 0, 0, 0, 1, 0, 0, 3, 0xe8, 0, 0]);
  shortHb.writeUInt16BE(crc16(shortHb, 1, 11), 11);
  add('heartbeat with length 8 (must be 9), CRC valid', shortHb);

  const padded = encodeBridgeFrame({ type: 'card', bits: w26 });
  padded[7]! |= 0x01;
  padded.writeUInt16BE(crc16(padded, 1, 8), 8);
  add('W26 card with a non-zero padding bit, CRC valid', padded);

  return {
    description:
      'Sekisho bridge frame test vectors (docs/bridge-frame.md). Frame: A5 | type | len | payload | ' +
      'CRC-16/CCITT-FALSE over type..payload, big-endian. Generated by firmware-bridge/test-vectors.ts.',
    protocol: 1,
    crc: {
      name: 'CRC-16/CCITT-FALSE',
      poly: '0x1021',
      init: '0xFFFF',
      refin: false,
      refout: false,
      xorout: '0x0000',
    },
    crcChecks: [
      { ascii: '123456789', crc: crcHex(crc16(Buffer.from('123456789'))) },
      { hex: '', crc: crcHex(crc16(Buffer.alloc(0))) },
      { hex: '040101', crc: crcHex(crc16(Buffer.from([4, 1, 1]))) },
    ],
    frames,
    damaged,
  };
}

export const TEST_VECTORS_FILE = fileURLToPath(new URL('./test-vectors.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Short number arrays on one line, as biome formats them.
  const json = JSON.stringify(buildTestVectors(), null, 2).replace(
    /\[\s+([\d,\s]+?)\s+\]/g,
    (_m, nums: string) => `[${nums.split(/,\s*/).join(', ')}]`,
  );
  writeFileSync(TEST_VECTORS_FILE, `${json}\n`);
  console.log(`wrote ${TEST_VECTORS_FILE}`);
}
