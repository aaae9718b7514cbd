/**
 * Credential normalisation for numbers typed by an administrator (`sekisho badge add --number …`).
 * The result is byte-for-byte the string the reader codecs produce for the same card, so a badge
 * enrolled by hand matches the badge read at the door.
 */
import { DEFAULT_LINE_PATTERN, lineMatcher } from './codecs/line.js';
import type { CredentialFormat } from './codecs/types.js';
import { WIEGAND_LAYOUTS, type WiegandFormat, wiegandCredential } from './codecs/wiegand.js';

export class CredentialError extends Error {
  readonly code = 'invalid_credential';
  override readonly name = 'CredentialError';
}

export interface NormaliseOptions {
  /** For format `line`: the reader's `linePattern` (default: the config default). */
  linePattern?: string;
}

export interface ParsedCredential {
  format: CredentialFormat;
  credential: string;
  /** Set when the input is valid but could be a mistake worth showing to the admin. */
  warning?: string;
}

function em4100(raw: string): ParsedCredential {
  const compact = raw.trim().replace(/[\s:-]/g, '');
  if (/^[0-9A-Fa-f]{10}$/.test(compact)) {
    const credential = compact.toUpperCase();
    const warning = /^\d{10}$/.test(compact)
      ? `${credential} was read as 10 hex digits; if it is the decimal number printed on the card, ` +
        'it is not the full credential — present the card to a reader instead'
      : undefined;
    return warning ? { format: 'em4100', credential, warning } : { format: 'em4100', credential };
  }
  // The number printed on an EM card is usually the last 8 hex digits in decimal (often followed
  // by "fff,ccccc"); it lacks the version/customer byte the reader sends, so it cannot be enrolled.
  const printed = /^(\d{1,10})(?:[\s,]+\d{1,3}[,.]\d{1,5})?$/.exec(raw.trim());
  if (printed && Number(printed[1]) <= 0xffff_ffff) {
    const low = Number(printed[1]).toString(16).toUpperCase().padStart(8, '0');
    throw new CredentialError(
      `"${raw.trim()}" looks like the decimal number printed on an EM card: it gives only the last 8 ` +
        `hex digits (${low}), not the 2-digit version/customer byte the reader also sends. ` +
        'Present the card to a reader, or give all 10 hex digits (e.g. 0A1B2C3D4E)',
    );
  }
  throw new CredentialError(`an EM4100 credential is 10 hex digits (e.g. 0A1B2C3D4E), got "${raw.trim()}"`);
}

function wiegand(format: WiegandFormat, raw: string): ParsedCredential {
  const { prefix, facilityBits, cardBits } = WIEGAND_LAYOUTS[format];
  const m = /^(?:(W\d+)\s*:\s*)?(\d+)\s*[:,/]\s*(\d+)$/i.exec(raw.trim());
  const example = `${prefix}:12:3456`;
  if (!m) throw new CredentialError(`a ${format} credential is ${prefix}:<facility>:<card>, e.g. ${example}`);
  if (m[1] !== undefined && m[1].toUpperCase() !== prefix) {
    throw new CredentialError(`"${raw.trim()}" is a ${m[1].toUpperCase()} number, not ${prefix}`);
  }
  const facility = Number(m[2]);
  const card = Number(m[3]);
  if (facility >= 2 ** facilityBits) {
    throw new CredentialError(`${prefix} facility code must be 0..${2 ** facilityBits - 1}, got ${m[2]}`);
  }
  if (card >= 2 ** cardBits)
    throw new CredentialError(`${prefix} card number must be 0..${2 ** cardBits - 1}, got ${m[3]}`);
  return { format, credential: wiegandCredential(format, facility, card) };
}

function line(raw: string, options: NormaliseOptions): ParsedCredential {
  const pattern = options.linePattern ?? DEFAULT_LINE_PATTERN;
  const credential = lineMatcher(pattern)(raw);
  if (credential === undefined) {
    throw new CredentialError(`"${raw.trim()}" does not match the reader's linePattern ${pattern}`);
  }
  return { format: 'line', credential };
}

/**
 * Parse a typed credential. With format `auto`: `W26:f:c` / `W34:f:c` are Wiegand, 10 hex digits
 * are EM4100; anything else is refused.
 */
export function parseCredential(
  raw: string,
  format: CredentialFormat | 'auto' | (string & {}) = 'auto',
  options: NormaliseOptions = {},
): ParsedCredential {
  switch (format) {
    case 'em4100':
      return em4100(raw);
    case 'wiegand26':
      return wiegand('wiegand26', raw);
    case 'wiegand34':
      return wiegand('wiegand34', raw);
    case 'line':
      return line(raw, options);
    case 'auto': {
      const t = raw.trim();
      if (/^W26\s*:/i.test(t)) return wiegand('wiegand26', t);
      if (/^W34\s*:/i.test(t)) return wiegand('wiegand34', t);
      if (/^[0-9A-Fa-f]{10}$/.test(t.replace(/[\s:-]/g, ''))) return em4100(t);
      if (/^W\d+\s*:/i.test(t))
        throw new CredentialError(`only W26 and W34 Wiegand numbers are supported, got "${t}"`);
      return em4100(t); // throws, explaining the printed-decimal case where it applies
    }
    default:
      throw new CredentialError(
        `unknown credential format "${format}" (expected auto, em4100, wiegand26, wiegand34 or line)`,
      );
  }
}

/** The normalised credential for `raw` in `format`. Throws CredentialError with a clear message. */
export function normaliseCredential(
  format: CredentialFormat | 'auto' | (string & {}),
  raw: string,
  options: NormaliseOptions = {},
): string {
  return parseCredential(raw, format, options).credential;
}
