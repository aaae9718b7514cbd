/**
 * Names and ID numbers that people type (a person's name and ID card number, a visitor's name and
 * organisation, an account's display name) are shown on every page, in the entry log, its print and
 * CSV, and on the technician's terminal. One rule for all of them, here, pure:
 *
 * - no control characters: C0 (U+0000–001F, tab and line breaks included), DEL (U+007F), C1
 *   (U+0080–009F), and the line and paragraph separators U+2028/2029;
 * - no lone surrogates (half of a UTF-16 pair: not a character at all);
 * - no bidirectional formatting characters — U+202A–202E (embeddings and overrides), U+2066–2069
 *   (isolates), U+200E/200F (LRM, RLM) and U+061C (ALM): a name with one can reorder what follows it
 *   on screen, e.g. make a denied entry read as another person's;
 * - no invisible characters that make two names look the same (U+200B, U+2060, U+FEFF and the tag
 *   characters U+E0000–E007F);
 * - NFC-normalised and trimmed, so that the same name typed twice is stored the same.
 *
 * Letters of any script, right-to-left ones included, are fine: it is the formatting characters
 * that are refused. Records written before this rule are shown with such characters made visible
 * (visibleText), never obeyed.
 */
import { z } from 'zod';

export type UnsafeCharKind = 'control' | 'lone_surrogate' | 'bidi' | 'invisible';

export interface UnsafeChar {
  kind: UnsafeCharKind;
  /** The code point (of the lone surrogate itself, for `lone_surrogate`). */
  codePoint: number;
  /** Its position in characters (code points) from the start, counting from 1. */
  position: number;
}

const BIDI = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);
const INVISIBLE = new Set([0x200b, 0x2060, 0xfeff]);

/** The kind of an unsafe code point, or null. */
export function unsafeKind(cp: number): UnsafeCharKind | null {
  if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) return 'control';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'lone_surrogate';
  if (BIDI.has(cp)) return 'bidi';
  if (INVISIBLE.has(cp) || (cp >= 0xe0000 && cp <= 0xe007f)) return 'invisible';
  return null;
}

/** The first unsafe character of a text, or null. (Iterating a string yields lone surrogates alone.) */
export function findUnsafeChar(text: string): UnsafeChar | null {
  let position = 0;
  for (const ch of text) {
    position++;
    const cp = ch.codePointAt(0)!;
    const kind = unsafeKind(cp);
    if (kind) return { kind, codePoint: cp, position };
  }
  return null;
}

/** "U+202E". */
export function codePointText(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

const KIND_TEXT: Record<UnsafeCharKind, string> = {
  control: 'a control character',
  lone_surrogate: 'half of a UTF-16 surrogate pair (not a character)',
  bidi: 'a bidirectional formatting character, which can reorder the text around it on screen',
  invisible: 'an invisible character, which makes different names look the same',
};

/** "contains a bidirectional formatting character, … (U+202E at character 4)". */
export function unsafeCharMessage(u: UnsafeChar): string {
  return `contains ${KIND_TEXT[u.kind]} (${codePointText(u.codePoint)} at character ${u.position})`;
}

/** The stored form of an accepted name: NFC, without surrounding white space. */
export function normaliseName(text: string): string {
  return text.normalize('NFC').trim();
}

/**
 * A name or ID field: refuses unsafe characters (the message names the kind, the code point and
 * where it is; `params.i18n` is the key of the bilingual wording), then normalises and checks the
 * length. `min: 0` for an optional field that may be empty.
 */
export function nameField(max: number, opts: { min?: 0 | 1 } = {}) {
  const min = opts.min ?? 1;
  return z
    .string()
    .superRefine((s, ctx) => {
      const u = findUnsafeChar(s);
      if (u)
        ctx.addIssue({
          code: 'custom',
          message: unsafeCharMessage(u),
          params: { i18n: `text_${u.kind}`, codePoint: codePointText(u.codePoint) },
        });
    })
    .transform(normaliseName)
    .pipe(
      z
        .string()
        .min(min, { error: 'must not be empty' })
        .max(max, { error: `must be at most ${max} characters` }),
    );
}

/**
 * A text for display whatever it holds (a record written before the rule, a CSV cell, a terminal
 * line): every unsafe character replaced by its code point in brackets, "[U+202E]", so that it is
 * seen and never obeyed. Tab and line breaks are kept when `keepLayout` (multi-line notes in HTML).
 */
export function visibleText(text: string, opts: { keepLayout?: boolean } = {}): string {
  if (findUnsafeChar(text) === null) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (opts.keepLayout && (cp === 0x09 || cp === 0x0a || cp === 0x0d)) out += ch;
    else out += unsafeKind(cp) ? `[${codePointText(cp)}]` : ch;
  }
  return out;
}
