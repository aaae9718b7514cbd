/**
 * RDM6300 (and the many EM4100 125 kHz modules that copy it), 9600 8N1. One frame per read,
 * repeated about every 50 ms while the card stays in the field:
 *
 *   0x02 | 10 ASCII hex: version/customer (2) + card (8) | 2 ASCII hex: XOR of the 5 data bytes | 0x03
 *
 * The credential is the 10 data hex digits, upper-case.
 */
import { type FrameProtocol, type FrameVerdict, SyncFramer } from './framer.js';
import type { Codec, CodecOptions } from './types.js';

const STX = 0x02;
const ETX = 0x03;
const FRAME_LENGTH = 14;

/** The value of an ASCII hex digit, or -1. */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

export const rdm6300Protocol: FrameProtocol = {
  sync: STX,
  maxFrame: FRAME_LENGTH,
  parse(buf: Buffer, start: number): FrameVerdict {
    const avail = Math.min(buf.length - start, FRAME_LENGTH);
    for (let i = 1; i < avail; i++) {
      const b = buf[start + i]!;
      if (i <= 12 && hexValue(b) < 0) {
        // A start or end byte this early means the frame was cut short; anything else is noise.
        const why = b === STX || b === ETX ? 'bad_length' : 'garbage';
        return { status: 'reject', why, length: i + 1 };
      }
      if (i === 13 && b !== ETX) return { status: 'reject', why: 'bad_length', length: FRAME_LENGTH };
    }
    if (avail < FRAME_LENGTH) return { status: 'need' };
    let xor = 0;
    for (let k = 0; k < 5; k++) {
      xor ^= (hexValue(buf[start + 1 + 2 * k]!) << 4) | hexValue(buf[start + 2 + 2 * k]!);
    }
    const check = (hexValue(buf[start + 11]!) << 4) | hexValue(buf[start + 12]!);
    if (xor !== check) return { status: 'reject', why: 'bad_checksum', length: FRAME_LENGTH };
    const credential = buf.toString('latin1', start + 1, start + 11).toUpperCase();
    return {
      status: 'ok',
      length: FRAME_LENGTH,
      events: [{ kind: 'credential', credential, format: 'em4100' }],
    };
  },
};

export function createRdm6300Codec(options: CodecOptions = {}): Codec {
  return new SyncFramer(rdm6300Protocol, options);
}

/** Build an RDM6300 frame for a 10-hex-digit EM4100 id (for tests and simulators). */
export function encodeRdm6300Frame(id: string, options: { badChecksum?: boolean } = {}): Buffer {
  if (!/^[0-9A-Fa-f]{10}$/.test(id)) throw new RangeError(`expected 10 hex digits, got "${id}"`);
  let xor = 0;
  for (let k = 0; k < 5; k++) xor ^= Number.parseInt(id.slice(2 * k, 2 * k + 2), 16);
  if (options.badChecksum) xor ^= 0x01;
  const check = xor.toString(16).toUpperCase().padStart(2, '0');
  return Buffer.concat([Buffer.from([STX]), Buffer.from(id + check, 'latin1'), Buffer.from([ETX])]);
}
