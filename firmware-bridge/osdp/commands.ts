/**
 * OSDP v2.2 commands (CP → PD) and replies (PD → CP) that Sekisho uses, pure: builders give the
 * code and data of a frame (frame.ts adds the envelope), parsers read a reply's data and return a
 * problem string instead of throwing on a short or malformed one.
 */

export const CMD = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  ISTAT: 0x65,
  OSTAT: 0x66,
  RSTAT: 0x67,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  TEXT: 0x6b,
  COMSET: 0x6e,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
  ACURXSIZE: 0x7b,
  MFG: 0x80,
  KEEPACTIVE: 0xa7,
} as const;

export const REPLY = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  ISTATR: 0x49,
  OSTATR: 0x4a,
  RSTATR: 0x4b,
  RAW: 0x50,
  FMT: 0x51,
  KEYPAD: 0x53,
  COM: 0x54,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
} as const;

/** osdp_NAK error codes (the first data byte). */
export const NAK_CODE = {
  /** Message check character(s) error (bad checksum/CRC). */
  CHECK: 0x01,
  /** Command length error. */
  LENGTH: 0x02,
  /** Unknown command code: not implemented by the PD. */
  UNKNOWN_COMMAND: 0x03,
  /** Unexpected sequence number detected in the header. */
  SEQUENCE: 0x04,
  /** This PD does not support the security block that was received. */
  SECURITY_UNSUPPORTED: 0x05,
  /** Communication security conditions not met (e.g. encryption required). */
  SECURITY_REQUIRED: 0x06,
  BIO_TYPE: 0x07,
  BIO_FORMAT: 0x08,
  /** Unable to process the command record. */
  RECORD: 0x09,
} as const;

const NAK_NAMES: Record<number, string> = {
  0: 'no_error',
  1: 'check_error',
  2: 'length_error',
  3: 'unknown_command',
  4: 'sequence_error',
  5: 'security_unsupported',
  6: 'security_required',
  7: 'bio_type_unsupported',
  8: 'bio_format_unsupported',
  9: 'cannot_process',
};

/** A stable, short name of a NAK code (`nak_0x2a` for one the standard does not name). */
export function nakName(code: number): string {
  return NAK_NAMES[code] ?? `nak_0x${code.toString(16).padStart(2, '0')}`;
}

const CODE_NAMES: Record<number, string> = Object.fromEntries([
  ...Object.entries(CMD).map(([k, v]) => [v, `osdp_${k}`]),
  ...Object.entries(REPLY).map(([k, v]) => [v | 0x100, `osdp_${k}`]),
]);

/** `osdp_POLL`, `osdp_PDID` …, or the hex code. */
export function codeName(code: number, reply = false): string {
  return CODE_NAMES[reply ? code | 0x100 : code] ?? `0x${code.toString(16).padStart(2, '0')}`;
}

export interface Command {
  code: number;
  data: Buffer;
}

const none = Buffer.alloc(0);

export const poll = (): Command => ({ code: CMD.POLL, data: none });
/** osdp_ID with the one defined request: 0x00, the standard PD ID block. */
export const id = (): Command => ({ code: CMD.ID, data: Buffer.from([0x00]) });
export const cap = (): Command => ({ code: CMD.CAP, data: Buffer.from([0x00]) });
export const lstat = (): Command => ({ code: CMD.LSTAT, data: none });
export const istat = (): Command => ({ code: CMD.ISTAT, data: none });

/** osdp_KEEPACTIVE: keep the (future) secure session alive for `ms` (0–65535). */
export function keepActive(ms: number): Command {
  const data = Buffer.alloc(2);
  data.writeUInt16LE(Math.max(0, Math.min(0xffff, Math.round(ms))));
  return { code: CMD.KEEPACTIVE, data };
}

/** osdp_COMSET: the PD's new address and baud rate (it answers osdp_COM, then switches). */
export function comset(address: number, baudRate: number): Command {
  if (!Number.isInteger(address) || address < 0 || address > 0x7e)
    throw new RangeError(`address must be 0–126, got ${address}`);
  const data = Buffer.alloc(5);
  data[0] = address;
  data.writeUInt32LE(baudRate, 1);
  return { code: CMD.COMSET, data };
}

/** LED colours of osdp_LED. */
export const LED_COLOUR = {
  black: 0,
  red: 1,
  green: 2,
  amber: 3,
  blue: 4,
  magenta: 5,
  cyan: 6,
  white: 7,
} as const;
export type LedColour = keyof typeof LED_COLOUR;

export interface LedRecord {
  reader: number;
  led: number;
  /**
   * The temporary state, shown for `timerMs` then back to the permanent one: flash `onColour` for
   * `onMs` and `offColour` for `offMs` (times in 100 ms units on the wire). Absent: no change.
   */
  temporary?: { onMs: number; offMs: number; onColour: LedColour; offColour: LedColour; timerMs: number };
  /** The permanent state (absent: no change). */
  permanent?: { onMs: number; offMs: number; onColour: LedColour; offColour: LedColour };
}

const units = (ms: number, max = 0xff) => Math.max(0, Math.min(max, Math.round(ms / 100)));

/** osdp_LED: one or more 14-byte LED records. */
export function led(records: LedRecord[]): Command {
  const data = Buffer.alloc(14 * records.length);
  records.forEach((r, n) => {
    const o = 14 * n;
    data[o] = r.reader;
    data[o + 1] = r.led;
    if (r.temporary) {
      data[o + 2] = 0x02; // set the temporary state and start its timer
      data[o + 3] = units(r.temporary.onMs);
      data[o + 4] = units(r.temporary.offMs);
      data[o + 5] = LED_COLOUR[r.temporary.onColour];
      data[o + 6] = LED_COLOUR[r.temporary.offColour];
      data.writeUInt16LE(units(r.temporary.timerMs, 0xffff), o + 7);
    }
    if (r.permanent) {
      data[o + 9] = 0x01; // set the permanent state
      data[o + 10] = units(r.permanent.onMs);
      data[o + 11] = units(r.permanent.offMs);
      data[o + 12] = LED_COLOUR[r.permanent.onColour];
      data[o + 13] = LED_COLOUR[r.permanent.offColour];
    }
  });
  return { code: CMD.LED, data };
}

/** osdp_BUZ: `count` beeps of `onMs` on, `offMs` off (0 = until told otherwise); tone 2 = default. */
export function buz(reader: number, onMs: number, offMs: number, count: number, tone = 2): Command {
  return {
    code: CMD.BUZ,
    data: Buffer.from([reader, tone, units(onMs), units(offMs), Math.max(0, Math.min(0xff, count))]),
  };
}

// --- replies ------------------------------------------------------------------------------------

export interface PdId {
  /** IEEE OUI, 6 hex digits, as on the wire (byte 1 first). */
  vendor: string;
  model: number;
  version: number;
  /** 8 hex digits (the 32-bit serial number, sent LSB first). */
  serial: string;
  /** major.minor.build */
  firmware: string;
}

const hex = (b: Buffer) => b.toString('hex').toUpperCase();

export function parsePdId(data: Buffer): PdId | string {
  if (data.length < 12) return `osdp_PDID needs 12 bytes, got ${data.length}`;
  return {
    vendor: hex(data.subarray(0, 3)),
    model: data[3]!,
    version: data[4]!,
    serial: data.readUInt32LE(5).toString(16).toUpperCase().padStart(8, '0'),
    firmware: `${data[9]}.${data[10]}.${data[11]}`,
  };
}

export interface PdCapability {
  /** Function code (1 contact status monitoring … 16 communication security …). */
  function: number;
  compliance: number;
  count: number;
}

export function parsePdCap(data: Buffer): PdCapability[] | string {
  if (data.length % 3 !== 0) return `osdp_PDCAP is 3-byte records, got ${data.length} bytes`;
  const out: PdCapability[] = [];
  for (let i = 0; i < data.length; i += 3)
    out.push({ function: data[i]!, compliance: data[i + 1]!, count: data[i + 2]! });
  return out;
}

/** PDCAP function codes the CP looks at. */
export const CAP_FUNCTION = {
  CHECK_CHARACTER: 8,
  COMMUNICATION_SECURITY: 9,
  RECEIVE_BUFFER: 10,
} as const;

export interface LocalStatus {
  tamper: boolean;
  /** Power failure reported by the PD. */
  power: boolean;
}

export function parseLocalStatus(data: Buffer): LocalStatus | string {
  if (data.length < 2) return `osdp_LSTATR needs 2 bytes, got ${data.length}`;
  return { tamper: data[0] !== 0, power: data[1] !== 0 };
}

export function parseInputStatus(data: Buffer): boolean[] {
  return [...data].map((b) => b !== 0);
}

export interface Nak {
  code: number;
  name: string;
}

export function parseNak(data: Buffer): Nak | string {
  if (data.length < 1) return 'osdp_NAK without an error code';
  return { code: data[0]!, name: nakName(data[0]!) };
}

export interface RawCard {
  reader: number;
  /** 0: raw bit array, format not specified; 1: Wiegand (P/data/P). */
  format: number;
  bitCount: number;
  /** One entry a bit, 0 or 1, in the order they were read (MSB of the first byte first). */
  bits: number[];
}

export function parseRaw(data: Buffer): RawCard | string {
  if (data.length < 4) return `osdp_RAW needs at least 4 bytes, got ${data.length}`;
  const bitCount = data.readUInt16LE(2);
  const bytes = Math.ceil(bitCount / 8);
  if (bitCount === 0) return 'osdp_RAW with 0 bits';
  if (data.length - 4 !== bytes) return `osdp_RAW says ${bitCount} bits but carries ${data.length - 4} bytes`;
  const bits: number[] = [];
  for (let n = 0; n < bitCount; n++) bits.push((data[4 + (n >> 3)]! >> (7 - (n & 7))) & 1);
  return { reader: data[0]!, format: data[1]!, bitCount, bits };
}

export interface FmtCard {
  reader: number;
  /** 0 forward, 1 reverse. */
  direction: number;
  text: string;
}

/** osdp_FMT (older readers): the card number as ASCII characters. */
export function parseFmt(data: Buffer): FmtCard | string {
  if (data.length < 3) return `osdp_FMT needs at least 3 bytes, got ${data.length}`;
  const n = data[2]!;
  if (data.length - 3 !== n) return `osdp_FMT says ${n} characters but carries ${data.length - 3}`;
  const body = data.subarray(3);
  for (const b of body)
    if (b < 0x20 || b > 0x7e) return 'osdp_FMT with a character that is not printable ASCII';
  return { reader: data[0]!, direction: data[1]!, text: body.toString('latin1') };
}

export interface ComSettings {
  address: number;
  baudRate: number;
}

export function parseCom(data: Buffer): ComSettings | string {
  if (data.length < 5) return `osdp_COM needs 5 bytes, got ${data.length}`;
  return { address: data[0]!, baudRate: data.readUInt32LE(1) };
}
