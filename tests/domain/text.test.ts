/** The one rule for names and ID numbers (controller/domain/text.ts). */
import { describe, expect, it } from 'vitest';
import { findUnsafeChar, nameField, unsafeCharMessage, visibleText } from '../../controller/domain/index.js';
import { BAD_CHARS } from '../helpers/bad-chars.js';

const field = nameField(200);

describe('names: the rule', () => {
  it.each(BAD_CHARS)('refuses %s', (_label, ch, kind) => {
    const name = `山田${ch}太郎`;
    expect(findUnsafeChar(name)).toEqual({ kind, codePoint: ch.codePointAt(0), position: 3 });
    const r = field.safeParse(name);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(issue.message).toBe(unsafeCharMessage(findUnsafeChar(name)!));
    expect(issue.message).toMatch(/ \(U\+[0-9A-F]{4,5} at character 3\)$/);
    expect((issue as { params?: { i18n?: string } }).params?.i18n).toBe(`text_${kind}`);
  });

  it('names the character and why in the message', () => {
    expect(field.safeParse('abc\u202eexe.txt').error!.issues[0]!.message).toBe(
      'contains a bidirectional formatting character, which can reorder the text around it on screen (U+202E at character 4)',
    );
  });

  it('accepts names of any script, right-to-left letters and emoji sequences included', () => {
    for (const name of [
      '山田 太郎',
      'ヤマダ・タロウ',
      "O'Brien-Smith",
      'محمد علي',
      'דוד לוי',
      'Zoë Ångström',
      '👩‍💻 Ada',
      'S-1001',
    ])
      expect(field.parse(name)).toBe(name.normalize('NFC'));
  });

  it('normalises to NFC and trims', () => {
    const decomposed = 'カ\u3099ス 太郎'; // カ + combining voiced mark
    expect(decomposed).not.toBe('ガス 太郎');
    expect(field.parse(`  ${decomposed} `)).toBe('ガス 太郎');
    expect(field.parse('Zoe\u0308')).toBe('Zoë');
  });

  it('checks the length after normalising; empty only where allowed', () => {
    expect(field.safeParse('   ').error!.issues[0]!.message).toBe('must not be empty');
    expect(nameField(5).safeParse('abcdef').error!.issues[0]!.message).toBe('must be at most 5 characters');
    expect(nameField(5, { min: 0 }).parse('')).toBe('');
  });
});

describe('names: showing what was written before the rule', () => {
  it('makes every refused character visible, and leaves clean text alone', () => {
    expect(visibleText('Eve\u202e gnimoc\u202c')).toBe('Eve[U+202E] gnimoc[U+202C]');
    expect(visibleText('a\u001b[2Jb\ud800c\u{e0041}')).toBe('a[U+001B][2Jb[U+D800]c[U+E0041]');
    expect(visibleText('line one\nline two', { keepLayout: true })).toBe('line one\nline two');
    expect(visibleText('line one\nline two')).toBe('line one[U+000A]line two');
    const clean = '山田 太郎 محمد';
    expect(visibleText(clean)).toBe(clean);
    for (const [, ch] of BAD_CHARS) expect(findUnsafeChar(visibleText(`x${ch}y`))).toBeNull();
  });
});
