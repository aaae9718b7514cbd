/**
 * The Sekisho bridge board protocol: a small microcontroller reads a Wiegand reader's D0/D1 lines
 * and a case tamper switch and reports over USB serial. Spec: docs/bridge-frame.md.
 *
 *   0xA5 | type (1) | len (1) | payload (len) | CRC-16/CCITT-FALSE over type..payload (2, big-endian)
 */
import { crc16 } from './crc16.js';
import { type FrameProtocol, type FrameVerdict, SyncFramer } from './framer.js';
import type { Codec, CodecEvent, CodecOptions } from './types.js';
import { decodeWiegandBits } from './wiegand.js';

export const BRIDGE_SYNC = 0xa5;
export const BRIDGE_PROTOCOL_VERSION = 1;
export const BRIDGE_MAX_PAYLOAD = 32;
/** Sync, type, length, payload, CRC. */
export const BRIDGE_MAX_FRAME = 3 + BRIDGE_MAX_PAYLOAD + 2;
export const BRIDGE_MAX_CARD_BITS = 64;

export const BRIDGE_FRAME_TYPES = { hello: 0x01, heartbeat: 0x02, card: 0x03, tamper: 0x04 } as const;
export type BridgeFrameType = keyof typeof BRIDGE_FRAME_TYPES;

/** Heartbeat `flags` bit 0: the tamper switch is open. Other bits are reserved, sent as 0. */
export const HEARTBEAT_FLAG_TAMPER = 0x01;

export type BridgeFrame =
  | { type: 'hello'; protocol?: number; major: number; minor: number; patch: number }
  | { type: 'heartbeat'; seq: number; uptimeMs: number; tamper?: boolean }
  /** `bits`: '0'/'1' characters in the order they arrived on D0/D1 (1..64 of them). */
  | { type: 'card'; bits: string }
  | { type: 'tamper'; active: boolean }
  /** Any type code and payload, for frames this version does not know (tests, future types). */
  | { type: 'raw'; code: number; payload: ArrayLike<number> };

function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer 0..${max}, got ${value}`);
  }
}

function payloadOf(frame: BridgeFrame): { code: number; payload: Buffer } {
  switch (frame.type) {
    case 'hello': {
      const protocol = frame.protocol ?? BRIDGE_PROTOCOL_VERSION;
      checkInt('protocol', protocol, 255);
      checkInt('major', frame.major, 255);
      checkInt('minor', frame.minor, 255);
      checkInt('patch', frame.patch, 255);
      return {
        code: BRIDGE_FRAME_TYPES.hello,
        payload: Buffer.from([protocol, frame.major, frame.minor, frame.patch]),
      };
    }
    case 'heartbeat': {
      checkInt('seq', frame.seq, 0xffff_ffff);
      checkInt('uptimeMs', frame.uptimeMs, 0xffff_ffff);
      const payload = Buffer.alloc(9);
      payload.writeUInt32BE(frame.seq, 0);
      payload.writeUInt32BE(frame.uptimeMs, 4);
      payload[8] = frame.tamper ? HEARTBEAT_FLAG_TAMPER : 0;
      return { code: BRIDGE_FRAME_TYPES.heartbeat, payload };
    }
    case 'card': {
      const n = frame.bits.length;
      if (!/^[01]+$/.test(frame.bits) || n > BRIDGE_MAX_CARD_BITS) {
        throw new RangeError(`card bits must be 1..${BRIDGE_MAX_CARD_BITS} characters of 0/1`);
      }
      const payload = Buffer.alloc(1 + Math.ceil(n / 8));
      payload[0] = n;
      for (let i = 0; i < n; i++) {
        if (frame.bits[i] === '1') payload[1 + (i >> 3)]! |= 0x80 >> (i & 7);
      }
      return { code: BRIDGE_FRAME_TYPES.card, payload };
    }
    case 'tamper':
      return { code: BRIDGE_FRAME_TYPES.tamper, payload: Buffer.from([frame.active ? 1 : 0]) };
    case 'raw': {
      checkInt('code', frame.code, 255);
      if (frame.payload.length > BRIDGE_MAX_PAYLOAD) throw new RangeError('payload longer than 32 bytes');
      return { code: frame.code, payload: Buffer.from(Array.from(frame.payload)) };
    }
  }
}

/** The exact bytes the bridge board sends for `frame`. Throws RangeError on out-of-range fields. */
export function encodeBridgeFrame(frame: BridgeFrame): Buffer {
  const { code, payload } = payloadOf(frame);
  const out = Buffer.alloc(3 + payload.length + 2);
  out[0] = BRIDGE_SYNC;
  out[1] = code;
  out[2] = payload.length;
  payload.copy(out, 3);
  out.writeUInt16BE(crc16(out, 1, 3 + payload.length), 3 + payload.length);
  return out;
}

/** The payload length each known frame type must have (card: from its bit count). */
const FIXED_LENGTH: Record<number, number> = {
  [BRIDGE_FRAME_TYPES.hello]: 4,
  [BRIDGE_FRAME_TYPES.heartbeat]: 9,
  [BRIDGE_FRAME_TYPES.tamper]: 1,
};

function contentOf(code: number, p: Buffer): CodecEvent {
  const noMatch: CodecEvent = { kind: 'dropped', why: 'no_match', bytes: p.length + 5 };
  switch (code) {
    case BRIDGE_FRAME_TYPES.hello:
      return { kind: 'hello', protocol: p[0]!, firmware: `${p[1]}.${p[2]}.${p[3]}` };
    case BRIDGE_FRAME_TYPES.heartbeat:
      return {
        kind: 'heartbeat',
        seq: p.readUInt32BE(0),
        uptimeMs: p.readUInt32BE(4),
        tamper: (p[8]! & HEARTBEAT_FLAG_TAMPER) !== 0,
      };
    case BRIDGE_FRAME_TYPES.tamper:
      return p[0]! <= 1 ? { kind: 'tamper', active: p[0] === 1 } : noMatch;
    case BRIDGE_FRAME_TYPES.card: {
      const n = p[0]!;
      const bits: number[] = [];
      for (let i = 0; i < n; i++) bits.push((p[1 + (i >> 3)]! >> (7 - (i & 7))) & 1);
      // Padding after the last bit must be zero.
      const lastByte = p[p.length - 1]!;
      if (n % 8 !== 0 && (lastByte & (0xff >> (n % 8))) !== 0) return noMatch;
      const decoded = decodeWiegandBits(bits);
      if (!decoded.ok) return { kind: 'dropped', why: decoded.why, bytes: p.length + 5 };
      return { kind: 'credential', credential: decoded.credential, format: decoded.format };
    }
    default:
      return noMatch;
  }
}

export const bridgeProtocol: FrameProtocol = {
  sync: BRIDGE_SYNC,
  maxFrame: BRIDGE_MAX_FRAME,
  parse(buf: Buffer, start: number): FrameVerdict {
    const avail = buf.length - start;
    if (avail < 3) return { status: 'need' };
    const code = buf[start + 1]!;
    const len = buf[start + 2]!;
    const fixed = FIXED_LENGTH[code];
    if (len > BRIDGE_MAX_PAYLOAD || (fixed !== undefined && len !== fixed)) {
      return { status: 'reject', why: 'bad_length', length: 3 };
    }
    if (code === BRIDGE_FRAME_TYPES.card) {
      if (len < 2) return { status: 'reject', why: 'bad_length', length: 3 };
      if (avail >= 4) {
        const n = buf[start + 3]!;
        if (n < 1 || n > BRIDGE_MAX_CARD_BITS || len !== 1 + Math.ceil(n / 8)) {
          return { status: 'reject', why: 'bad_length', length: 4 };
        }
      }
    }
    const total = 3 + len + 2;
    if (avail < total) return { status: 'need' };
    if (crc16(buf, start + 1, start + 3 + len) !== buf.readUInt16BE(start + 3 + len)) {
      return { status: 'reject', why: 'bad_checksum', length: total };
    }
    return {
      status: 'ok',
      length: total,
      events: [contentOf(code, buf.subarray(start + 3, start + 3 + len))],
    };
  },
};

export function createWiegandBridgeCodec(options: CodecOptions = {}): Codec {
  return new SyncFramer(bridgeProtocol, options);
}
