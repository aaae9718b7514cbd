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
  /** The same, as codes with their values, for a screen to word in its own language. */
  notes?: CredentialNote[];
}

/** Why an accepted number deserves a second look (see `ParsedCredential.warning`). */
export interface CredentialNote {
  code: 'decimal_as_hex' | 'wiegand_prefix_assumed' | 'format_not_read_here';
  vars: Record<string, string>;
}

function em4100(raw: string): ParsedCredential {
  const compact = raw.trim().replace(/[\s:-]/g, '');
  if (/^[0-9A-Fa-f]{10}$/.test(compact)) {
    const credential = compact.toUpperCase();
    const warning = /^\d{10}$/.test(compact)
      ? `${credential} was read as 10 hex digits; if it is the decimal number printed on the card, ` +
        'it is not the full credential — present the card to a reader instead'
      : undefined;
    return warning
      ? { format: 'em4100', credential, warning, notes: [{ code: 'decimal_as_hex', vars: { credential } }] }
      : { format: 'em4100', credential };
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

/** What the enrolment path needs to know of a configured reader: what credentials it produces. */
export interface EnrolReader {
  id?: string;
  /** `rdm6300` gives EM4100, `wiegand-bridge` W26/W34, `line` a line matching `linePattern`. */
  protocol: string;
  linePattern?: string;
}

/** Every form, as if one reader of each protocol with the default pattern were configured. */
export const ALL_READER_FORMS: readonly EnrolReader[] = [
  { protocol: 'rdm6300' },
  { protocol: 'wiegand-bridge' },
  { protocol: 'line' },
];

const FORMATS_OF: Record<string, readonly CredentialFormat[]> = {
  rdm6300: ['em4100'],
  'wiegand-bridge': ['wiegand26', 'wiegand34'],
  line: ['line'],
};

function readerName(r: EnrolReader): string {
  return r.id === undefined ? r.protocol : `${r.id} (${r.protocol})`;
}

/**
 * A Wiegand number typed with or without its `W26:`/`W34:` prefix. Without one it is W26 when the
 * facility fits 8 bits (the common 26-bit card), else W34, with a warning saying so.
 */
function wiegandAuto(raw: string): ParsedCredential {
  const t = raw.trim();
  if (/^W26\s*:/i.test(t)) return wiegand('wiegand26', t);
  if (/^W34\s*:/i.test(t)) return wiegand('wiegand34', t);
  if (/^W\d+\s*:/i.test(t))
    throw new CredentialError(`only W26 and W34 Wiegand numbers are supported, got "${t}"`);
  const m = /^(\d+)\s*[:,/]\s*(\d+)$/.exec(t);
  if (!m)
    throw new CredentialError(
      `a Wiegand credential is W26:<facility>:<card> or <facility>:<card>, got "${t}"`,
    );
  if (Number(m[1]) > 255) return wiegand('wiegand34', t);
  const w26 = wiegand('wiegand26', t);
  const w34 = `W34:${Number(m[1])}:${Number(m[2])}`;
  return {
    ...w26,
    warning: `${t} was taken as ${w26.credential} (a 26-bit card); a 34-bit card with these numbers is ${w34}`,
    notes: [{ code: 'wiegand_prefix_assumed', vars: { typed: t, w26: w26.credential, w34 } }],
  };
}

function attempt(fn: () => ParsedCredential): ParsedCredential | CredentialError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CredentialError) return err;
    throw err;
  }
}

/**
 * The credential for a card number an administrator types to enrol a badge (CLI, dashboard, API),
 * given the readers in the config: exactly the forms those readers produce, normalised as their
 * codecs do (docs/bridge-frame.md, "Credential normalisation").
 *
 * - `format` given: parsed as that format (a `line` input against the line readers' patterns); a
 *   format no configured reader produces is accepted with a warning (the badge opens no door yet).
 * - `auto`: parsed as every format the configured readers produce. One credential: it; none: the
 *   most specific refusal; two different ones (a custom `linePattern` that also takes `12:3456`):
 *   refused as ambiguous, naming both, so that `format` decides.
 */
export function enrolCredential(
  raw: string,
  format: CredentialFormat | 'auto' | (string & {}) = 'auto',
  readers: readonly EnrolReader[] = ALL_READER_FORMS,
): ParsedCredential {
  const typed = raw.trim();
  if (typed === '') throw new CredentialError('the card number is empty');
  const known = readers.filter((r) => FORMATS_OF[r.protocol] !== undefined);
  const lineReaders = known.filter((r) => r.protocol === 'line');
  const produces = (f: CredentialFormat) => known.some((r) => FORMATS_OF[r.protocol]!.includes(f));
  if (format !== 'auto') {
    let parsed: ParsedCredential;
    if (format === 'line' && lineReaders.length > 0) {
      const tries = lineReaders.map((r) =>
        attempt(() => line(typed, r.linePattern === undefined ? {} : { linePattern: r.linePattern })),
      );
      const hit = tries.find((x): x is ParsedCredential => !(x instanceof CredentialError));
      if (!hit) {
        throw new CredentialError(
          `"${typed}" matches the linePattern of no line reader (${lineReaders.map((r) => `${readerName(r)}: ${r.linePattern ?? DEFAULT_LINE_PATTERN}`).join('; ')})`,
        );
      }
      parsed = hit;
    } else parsed = parseCredential(typed, format);
    if (!produces(parsed.format)) {
      const note = `no reader in the config produces ${parsed.format} credentials: this badge opens no door until one does`;
      return {
        ...parsed,
        warning: parsed.warning ? `${parsed.warning}; ${note}` : note,
        notes: [...(parsed.notes ?? []), { code: 'format_not_read_here', vars: { format: parsed.format } }],
      };
    }
    return parsed;
  }
  const tries: { reader: string; what: string; r: ParsedCredential | CredentialError }[] = [];
  if (produces('em4100'))
    tries.push({ reader: 'em4100', what: '10 hex digits (EM4100)', r: attempt(() => em4100(typed)) });
  if (produces('wiegand26'))
    tries.push({
      reader: 'wiegand',
      what: 'W26:<facility>:<card>, W34:<facility>:<card> or <facility>:<card> (Wiegand)',
      r: attempt(() => wiegandAuto(typed)),
    });
  for (const r of lineReaders) {
    const pattern = r.linePattern ?? DEFAULT_LINE_PATTERN;
    tries.push({
      reader: 'line',
      what: `a line matching ${pattern} (reader ${readerName(r)})`,
      r: attempt(() => line(typed, { linePattern: pattern })),
    });
  }
  const hits = tries.filter((x) => !(x.r instanceof CredentialError)).map((x) => x.r as ParsedCredential);
  const distinct = [...new Set(hits.map((h) => h.credential))];
  if (distinct.length === 1) {
    const first = hits[0]!;
    const warnings = [...new Set(hits.map((h) => h.warning).filter((w): w is string => w !== undefined))];
    const notes = hits.flatMap((h) => h.notes ?? []);
    const unique = notes.filter((n, i) => notes.findIndex((m) => m.code === n.code) === i);
    return warnings.length > 0
      ? { ...first, warning: warnings.join('; '), notes: unique }
      : { format: first.format, credential: first.credential };
  }
  if (distinct.length > 1) {
    throw new CredentialError(
      `"${typed}" is ambiguous here: it reads as ${hits.map((h) => `${h.credential} (${h.format})`).join(' or as ')}; ` +
        'choose the format (--format, or `format` in the API)',
    );
  }
  // Nothing here reads it: the most specific refusal (the printed-decimal explanation, a Wiegand
  // range), and what a reader type the config lacks would make of it.
  const specific = tries.find(
    (x) =>
      x.r instanceof CredentialError &&
      /printed on an EM card|must be 0\.\.|not W\d+|only W26/.test(x.r.message),
  );
  const base = specific
    ? (specific.r as CredentialError).message
    : `"${typed}" is not a card number the readers here produce; expected ${tries.map((x) => x.what).join(', or ')}`;
  for (const r of ALL_READER_FORMS.filter((a) => !known.some((k) => k.protocol === a.protocol))) {
    const p = attempt(() =>
      r.protocol === 'wiegand-bridge'
        ? wiegandAuto(typed)
        : r.protocol === 'rdm6300'
          ? em4100(typed)
          : line(typed, {}),
    );
    if (!(p instanceof CredentialError)) {
      throw new CredentialError(
        `${base}. A ${r.protocol} reader would read it as ${p.credential}, but the config has none ` +
          `(readers: ${known.map(readerName).join(', ') || 'none'}); give --format ${p.format} to enrol it anyway`,
      );
    }
  }
  throw new CredentialError(base);
}
