/**
 * Wiegand 26 and 34 bit layouts. Bits are counted in the order they arrive on D0/D1, bit 0 first.
 *
 *   W26: E FFFFFFFF CCCCCCCCCCCCCCCC O   E: even parity over bits 0..12, O: odd parity over bits 13..25
 *   W34: E FFFFFFFFFFFFFFFF CCCCCCCCCCCCCCCC O   E: even over 0..16, O: odd over 17..33
 *
 * (The parity bit is counted in its half: the half has an even, respectively odd, number of ones.)
 */
export type WiegandFormat = 'wiegand26' | 'wiegand34';

interface Layout {
  bits: number;
  facilityBits: number;
  cardBits: number;
  prefix: string;
}

export const WIEGAND_LAYOUTS: Record<WiegandFormat, Layout> = {
  wiegand26: { bits: 26, facilityBits: 8, cardBits: 16, prefix: 'W26' },
  wiegand34: { bits: 34, facilityBits: 16, cardBits: 16, prefix: 'W34' },
};

export function wiegandFormatForBits(bitCount: number): WiegandFormat | undefined {
  if (bitCount === 26) return 'wiegand26';
  if (bitCount === 34) return 'wiegand34';
  return undefined;
}

/** The normalised credential: `W26:<facility>:<card>` / `W34:<facility>:<card>`, decimal. */
export function wiegandCredential(format: WiegandFormat, facility: number, card: number): string {
  return `${WIEGAND_LAYOUTS[format].prefix}:${facility}:${card}`;
}

function checkField(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`${name} must be an integer 0..${2 ** bits - 1}, got ${value}`);
  }
}

/** The bits a reader sends for this facility and card, parity included, as a '0'/'1' string. */
export function wiegandBits(format: WiegandFormat, facility: number, card: number): string {
  const { bits, facilityBits, cardBits } = WIEGAND_LAYOUTS[format];
  checkField('facility', facility, facilityBits);
  checkField('card', card, cardBits);
  const data = facility.toString(2).padStart(facilityBits, '0') + card.toString(2).padStart(cardBits, '0');
  const half = bits / 2;
  const ones = (s: string) => [...s].filter((c) => c === '1').length;
  const even = ones(data.slice(0, half - 1)) % 2 === 0 ? '0' : '1';
  const odd = ones(data.slice(half - 1)) % 2 === 0 ? '1' : '0';
  return even + data + odd;
}

export type WiegandDecode =
  | { ok: true; format: WiegandFormat; facility: number; card: number; credential: string }
  | { ok: false; why: 'bad_parity' | 'no_match' };

/** Check parity and split the fields. `bits[i]` is 0 or 1, in arrival order. */
export function decodeWiegandBits(bits: ArrayLike<number>): WiegandDecode {
  const format = wiegandFormatForBits(bits.length);
  if (!format) return { ok: false, why: 'no_match' };
  const { facilityBits, cardBits } = WIEGAND_LAYOUTS[format];
  const half = bits.length / 2;
  let first = 0;
  let second = 0;
  for (let i = 0; i < half; i++) first += bits[i]!;
  for (let i = half; i < bits.length; i++) second += bits[i]!;
  if (first % 2 !== 0 || second % 2 !== 1) return { ok: false, why: 'bad_parity' };
  const field = (from: number, n: number) => {
    let v = 0;
    for (let i = from; i < from + n; i++) v = v * 2 + bits[i]!;
    return v;
  };
  const facility = field(1, facilityBits);
  const card = field(1 + facilityBits, cardBits);
  return { ok: true, format, facility, card, credential: wiegandCredential(format, facility, card) };
}
