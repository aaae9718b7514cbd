/**
 * OSDP v2.2 link layer (SIA OSDP / IEC 60839-11-5), pure: one packet to bytes and back, and a
 * streaming decoder for a half-duplex RS-485 line that may carry garbage.
 *
 *   [0xFF mark] SOM(0x53) ADDR LEN_LSB LEN_MSB CTRL [SEC_BLK_LEN SEC_BLK_TYPE SEC_BLK_DATA…]
 *               CODE DATA… [MAC0..MAC3] CKSUM | CRC_LSB CRC_MSB
 *
 * - ADDR: the reader (PD) 0x00–0x7E, 0x7F broadcast; a reply sets bit 7.
 * - LEN: the whole packet, SOM to the last check byte (the mark byte is not counted).
 * - CTRL: bits 0–1 the sequence number, bit 2 set = 16-bit CRC (clear = 8-bit checksum), bit 3 set =
 *   a security control block follows the header.
 * - MAC: 4 bytes before the check bytes when the security block is of type SCS_15…SCS_18; it covers
 *   SOM up to the byte before it (`covered`), so the Secure Channel (not built yet) can compute and
 *   check it without this module knowing the keys.
 * - CRC-16: polynomial 0x1021, initial value 0x1D0F, no reflection, sent little-endian;
 *   checksum: the two's complement of the byte sum.
 */

import { crc16 } from '../codecs/crc16.js';

export const OSDP_MARK = 0xff;
export const OSDP_SOM = 0x53;
export const OSDP_BROADCAST = 0x7f;
export const OSDP_REPLY_BIT = 0x80;
export const CTRL_SEQUENCE_MASK = 0x03;
export const CTRL_CRC = 0x04;
export const CTRL_SCB = 0x08;
/** Security block types that carry a MAC after the data (SCS_15…SCS_18). */
export const MAC_SECURITY_TYPES: ReadonlySet<number> = new Set([0x15, 0x16, 0x17, 0x18]);
export const OSDP_MAC_LENGTH = 4;
/** The shortest packet: SOM, ADDR, LEN×2, CTRL, CODE, checksum. */
export const OSDP_MIN_PACKET = 7;
/**
 * The longest packet this decoder accepts. The standard lets the PD announce its receive buffer;
 * readers' replies (a card, an ID) are tens of bytes, so 1 KiB bounds the buffer with room to spare.
 */
export const OSDP_MAX_PACKET = 1024;

export type OsdpSequence = 0 | 1 | 2 | 3;

export interface OsdpSecurityBlock {
  /** SCS_11 … SCS_18 (0x11–0x18). */
  type: number;
  data: Buffer;
}

export interface OsdpFrame {
  /** The PD's address, 0x00–0x7F, without the reply bit. */
  address: number;
  /** From the PD (address bit 7 set). */
  reply: boolean;
  sequence: OsdpSequence;
  /** 16-bit CRC (true) or 8-bit checksum. */
  crc: boolean;
  security?: OsdpSecurityBlock | undefined;
  /** Command or reply code. */
  code: number;
  data: Buffer;
  /** The 4-byte MAC when the security block's type carries one. */
  mac?: Buffer | undefined;
}

export interface DecodedFrame {
  frame: OsdpFrame;
  /** The packet's bytes, SOM to the last check byte. */
  packet: Buffer;
  /** The bytes a MAC covers: SOM up to the byte before the MAC (empty when there is no MAC). */
  covered: Buffer;
}

/** OSDP's CRC-16 (CRC-16/AUG-CCITT): poly 0x1021, init 0x1D0F. crc("123456789") = 0xE5CC. */
export function osdpCrc16(data: Uint8Array, start = 0, end = data.length): number {
  return crc16(data, start, end, 0x1d0f);
}

/** OSDP's 8-bit checksum: the two's complement of the sum of the bytes. */
export function osdpChecksum(data: Uint8Array, start = 0, end = data.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + data[i]!) & 0xff;
  return (0x100 - sum) & 0xff;
}

export class OsdpFrameError extends Error {
  override readonly name = 'OsdpFrameError';
}

export interface EncodeOptions {
  /** Send the 0xFF mark byte before SOM (libosdp does by default; v2.2 allows it). Default true. */
  mark?: boolean;
  /**
   * For a security block that carries a MAC: computes it from the covered bytes (SOM … before the
   * MAC). Without it, `frame.mac` is used as given.
   */
  computeMac?: (covered: Buffer) => Buffer;
}

/** One packet's bytes. Throws OsdpFrameError on a field out of range. */
export function encodeFrame(frame: OsdpFrame, options: EncodeOptions = {}): Buffer {
  const { address, sequence, code, data, security } = frame;
  if (!Number.isInteger(address) || address < 0 || address > OSDP_BROADCAST)
    throw new OsdpFrameError(`address must be 0–127 (0x7F = broadcast), got ${address}`);
  if (![0, 1, 2, 3].includes(sequence)) throw new OsdpFrameError(`sequence must be 0–3, got ${sequence}`);
  if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new OsdpFrameError(`bad code ${code}`);
  const withMac = security !== undefined && MAC_SECURITY_TYPES.has(security.type);
  const scbLength = security ? 2 + security.data.length : 0;
  if (security && (scbLength > 0xff || security.type < 0 || security.type > 0xff))
    throw new OsdpFrameError('security block too long or of a bad type');
  const length = 5 + scbLength + 1 + data.length + (withMac ? OSDP_MAC_LENGTH : 0) + (frame.crc ? 2 : 1);
  if (length > OSDP_MAX_PACKET)
    throw new OsdpFrameError(`packet of ${length} bytes exceeds ${OSDP_MAX_PACKET}`);
  const mark = options.mark ?? true;
  const out = Buffer.alloc(length + (mark ? 1 : 0));
  let i = 0;
  if (mark) out[i++] = OSDP_MARK;
  const som = i;
  out[i++] = OSDP_SOM;
  out[i++] = address | (frame.reply ? OSDP_REPLY_BIT : 0);
  out.writeUInt16LE(length, i);
  i += 2;
  out[i++] = sequence | (frame.crc ? CTRL_CRC : 0) | (security ? CTRL_SCB : 0);
  if (security) {
    out[i++] = scbLength;
    out[i++] = security.type;
    i += security.data.copy(out, i);
  }
  out[i++] = code;
  i += data.copy(out, i);
  if (withMac) {
    const mac = options.computeMac ? options.computeMac(out.subarray(som, i)) : frame.mac;
    if (!mac || mac.length < OSDP_MAC_LENGTH)
      throw new OsdpFrameError(`security block type 0x${security.type.toString(16)} needs a 4-byte MAC`);
    i += mac.copy(out, i, 0, OSDP_MAC_LENGTH);
  }
  if (frame.crc) {
    out.writeUInt16LE(osdpCrc16(out, som, i), i);
    i += 2;
  } else out[i++] = osdpChecksum(out, som, i);
  return out;
}

export type FrameProblem = 'bad_checksum' | 'bad_length' | 'garbage';

/**
 * Decode one whole packet starting at SOM (no mark byte). Returns the problem instead of throwing:
 * `bad_length` when LEN does not fit the bytes or the security block, `bad_checksum` when the check
 * bytes do not match, `garbage` when it does not start with SOM.
 */
export function decodePacket(packet: Buffer): DecodedFrame | FrameProblem {
  if (packet.length < OSDP_MIN_PACKET || packet[0] !== OSDP_SOM) return 'garbage';
  const length = packet.readUInt16LE(2);
  if (length !== packet.length || length > OSDP_MAX_PACKET) return 'bad_length';
  const ctrl = packet[4]!;
  const crc = (ctrl & CTRL_CRC) !== 0;
  const checkLength = crc ? 2 : 1;
  if (length < 6 + checkLength) return 'bad_length';
  const end = length - checkLength;
  if (
    crc
      ? osdpCrc16(packet, 0, end) !== packet.readUInt16LE(end)
      : osdpChecksum(packet, 0, end) !== packet[end]
  )
    return 'bad_checksum';
  let i = 5;
  let security: OsdpSecurityBlock | undefined;
  if (ctrl & CTRL_SCB) {
    const scbLength = packet[5]!;
    if (scbLength < 2 || 5 + scbLength >= end) return 'bad_length';
    security = { type: packet[6]!, data: Buffer.from(packet.subarray(7, 5 + scbLength)) };
    i = 5 + scbLength;
  }
  const withMac = security !== undefined && MAC_SECURITY_TYPES.has(security.type);
  const dataEnd = withMac ? end - OSDP_MAC_LENGTH : end;
  if (dataEnd < i + 1) return 'bad_length';
  const addr = packet[1]!;
  const frame: OsdpFrame = {
    address: addr & 0x7f,
    reply: (addr & OSDP_REPLY_BIT) !== 0,
    sequence: (ctrl & CTRL_SEQUENCE_MASK) as OsdpSequence,
    crc,
    code: packet[i]!,
    data: Buffer.from(packet.subarray(i + 1, dataEnd)),
  };
  if (security) frame.security = security;
  if (withMac) frame.mac = Buffer.from(packet.subarray(dataEnd, end));
  return {
    frame,
    packet: Buffer.from(packet),
    covered: withMac ? Buffer.from(packet.subarray(0, dataEnd)) : Buffer.alloc(0),
  };
}

export type DecoderEvent =
  | ({ kind: 'frame' } & DecodedFrame)
  | { kind: 'dropped'; why: FrameProblem; bytes: number };

export interface DecoderOptions {
  /**
   * A partial packet whose last byte is older than this when more bytes arrive is dropped
   * (`bad_length`): on a half-duplex line a reply never pauses mid-packet. Default 500 ms.
   */
  staleMs?: number;
}

/**
 * The streaming decoder. Bytes outside a packet are dropped (`garbage`; mark bytes silently); a
 * packet whose check bytes fail drops only its SOM, and the search for the next SOM resumes inside
 * it, so a frame hidden behind a false SOM in garbage is still found. Holds at most one packet
 * (≤ OSDP_MAX_PACKET bytes).
 */
export class OsdpDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private lastAt = Number.NaN;
  private readonly staleMs: number;

  constructor(options: DecoderOptions = {}) {
    this.staleMs = options.staleMs ?? 500;
  }

  /** Whether part of a packet is held (a packet is arriving). */
  get pending(): boolean {
    return this.buf.length > 0;
  }

  /** Forget a partial packet; returns its drop event, if any. */
  reset(): DecoderEvent[] {
    const n = this.buf.length;
    this.buf = Buffer.alloc(0);
    return n > 0 ? [{ kind: 'dropped', why: 'bad_length', bytes: n }] : [];
  }

  push(chunk: Buffer, at = 0): DecoderEvent[] {
    const out: DecoderEvent[] = [];
    if (this.buf.length > 0 && at - this.lastAt > this.staleMs) out.push(...this.reset());
    this.lastAt = at;
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let garbage = 0;
    const flushGarbage = () => {
      if (garbage > 0) out.push({ kind: 'dropped', why: 'garbage', bytes: garbage });
      garbage = 0;
    };
    let i = 0;
    for (;;) {
      // Find the next SOM; mark bytes are line idle, anything else is garbage.
      while (i < this.buf.length && this.buf[i] !== OSDP_SOM) {
        if (this.buf[i] !== OSDP_MARK) garbage++;
        i++;
      }
      if (i >= this.buf.length) break;
      if (this.buf.length - i < 5) break;
      const length = this.buf.readUInt16LE(i + 2);
      if (length < OSDP_MIN_PACKET || length > OSDP_MAX_PACKET) {
        garbage++; // an implausible SOM: skip it
        i++;
        continue;
      }
      if (this.buf.length - i < length) {
        // Incomplete: unless a later SOM starts a whole valid packet (the length came from garbage).
        const later = this.validPacketAfter(i + 1);
        if (later < 0) break;
        garbage += later - i;
        i = later;
        continue;
      }
      const decoded = decodePacket(this.buf.subarray(i, i + length));
      if (typeof decoded === 'string') {
        garbage++; // a false SOM (or a damaged packet): look for the next SOM inside it
        i++;
        continue;
      }
      flushGarbage();
      out.push({ kind: 'frame', ...decoded });
      i += length;
    }
    flushGarbage();
    this.buf = Buffer.from(this.buf.subarray(i));
    return out;
  }

  /** The offset of the first SOM at or after `from` that starts a complete, valid packet; -1 if none. */
  private validPacketAfter(from: number): number {
    for (let j = this.buf.indexOf(OSDP_SOM, from); j >= 0; j = this.buf.indexOf(OSDP_SOM, j + 1)) {
      if (this.buf.length - j < OSDP_MIN_PACKET) return -1;
      const length = this.buf.readUInt16LE(j + 2);
      if (length < OSDP_MIN_PACKET || this.buf.length - j < length) continue;
      if (typeof decodePacket(this.buf.subarray(j, j + length)) !== 'string') return j;
    }
    return -1;
  }
}
