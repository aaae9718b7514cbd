/**
 * New passwords are estimated by zxcvbn-ts: well-known passwords, keyboard walks and the user's own
 * names are refused, with the reason and the estimator's feedback in Japanese and English — in the
 * function every password-setting path calls, and through the change-password route.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkPasswordStrength,
  checkPasswordStrengthOffThread,
  generatePassword,
  MIN_PASSWORD_SCORE,
} from '../../controller/accounts/passwords.js';
import { STRINGS } from '../../dashboards/i18n.js';
import { makeDash, PASSWORD, type TestDash } from './helpers.js';

/** Refused by the estimator itself (not by a rule of ours). */
const WEAK = [
  'password1234',
  '123456789012',
  'P@ssw0rd2026',
  'qwertyuiop12',
  '1qaz2wsx3edc',
  'zxcvbnm,./12',
  'iloveyou2026',
  'admin1admin1',
  'abcdefghijkl',
];

const me = ['tanaka', 'Tanaka Taro'];

describe('checkPasswordStrength', () => {
  it('refuses well-known passwords and keyboard walks, saying why', () => {
    for (const p of WEAK) {
      const v = checkPasswordStrength(p, me);
      expect(v, p).toMatchObject({ ok: false, reason: 'password_too_weak' });
      expect(v.score!, p).toBeLessThan(MIN_PASSWORD_SCORE);
      const keys = [v.warning, ...v.suggestions].filter((k) => k !== null);
      expect(keys.length, p).toBeGreaterThan(0);
      for (const k of keys) expect(STRINGS[k], `${p}: ${k}`).toBeDefined();
    }
    expect(checkPasswordStrength('P@ssw0rd2026', me).warning).toBe('zx_w_similarToCommon');
  });

  it('refuses the user’s own names and "sekisho", in any case', () => {
    for (const p of [
      'tanaka-secret-77',
      'TanakaTaro-1997',
      'Sekisho-Server-Room-1',
      '関所のパスワードですよ、ね',
    ])
      expect(checkPasswordStrength(p, me).reason, p).toBe('password_contains_name');
    // The estimator also sees them as personal data inside a longer password.
    expect(checkPasswordStrength('kumamoto-castle', ['kumamoto']).ok).toBe(false);
  });

  it('accepts long unpredictable passwords and passphrases; every generated password passes', () => {
    for (const p of [
      PASSWORD,
      'a-brand-new-passphrase',
      '長い日本語のパスワードです',
      'Kumamoto-Castle-1607',
    ])
      expect(checkPasswordStrength(p, me), p).toMatchObject({ ok: true, reason: null });
    for (let i = 0; i < 40; i++) {
      const p = generatePassword(me);
      expect(checkPasswordStrength(p, me).ok, p).toBe(true);
    }
  });

  it('gives the same verdict in a worker thread (the dashboard’s way, off the door’s event loop)', async () => {
    for (const p of ['P@ssw0rd2026', 'tanaka-secret-77', 'short', PASSWORD])
      expect(await checkPasswordStrengthOffThread(p, me), p).toEqual(checkPasswordStrength(p, me));
  });

  it('every feedback the estimator can give has a Japanese and an English text', () => {
    const en = createRequire(import.meta.url)('@zxcvbn-ts/language-en') as {
      translations: { warnings: object; suggestions: object };
    };
    const keys = [
      ...Object.keys(en.translations.warnings).map((k) => `zx_w_${k}`),
      ...Object.keys(en.translations.suggestions).map((k) => `zx_s_${k}`),
    ];
    expect(keys.length).toBeGreaterThan(25);
    for (const k of keys) {
      const [ja, english] = STRINGS[k] ?? ['', ''];
      expect(ja, k).toMatch(/[ぁ-んァ-ン一-龯]/);
      expect(english.length, k).toBeGreaterThan(5);
    }
  });
});

describe('changing one’s password through the dashboard', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses each weak password with the reason and the estimator’s feedback, in both languages', async () => {
    const c = await d.login('operator1');
    for (const next of [...WEAK, 'operator1-at-work', 'Test operator1!', 'sekisho-room-2026']) {
      const res = await c.req(
        'POST',
        '/api/me/password',
        { current: PASSWORD, next },
        { 'accept-language': 'en' },
      );
      expect(res.statusCode, next).toBe(400);
      const e = res.json().error;
      expect(e.code).toBe('weak_password');
      if (e.detail === 'password_too_weak') {
        expect(e.text, next).toMatch(/^This password is not acceptable\. It is too easy to guess\. \S/);
        expect(e.feedback.length, next).toBeGreaterThan(0);
      } else {
        expect(e.detail, next).toBe('password_contains_name');
        expect(e.text).toContain('must not contain the user name');
      }
    }
    const ja = await c.req(
      'POST',
      '/api/me/password',
      { current: PASSWORD, next: 'P@ssw0rd2026' },
      { 'accept-language': 'ja' },
    );
    expect(ja.json().error.text).toBe(
      'このパスワードは使えません。 推測されやすいパスワードです。 広く使われているパスワードに似ています。 ' +
        'あまり使われない単語を加えてください。 先頭以外の文字も大文字にしてください。 ' +
        '「a」を「@」にするような予測しやすい置き換えは避けてください。',
    );
    // Nothing was changed: the old password still logs in.
    expect((await d.login('operator1')).user.username).toBe('operator1');
    expect(d.controller.journal.query({ types: ['user_password_changed'], limit: 10 })).toHaveLength(0);
  });
});
