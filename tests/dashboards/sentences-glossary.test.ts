/**
 * One glossary (docs/glossary.md) used everywhere: the dashboard's Japanese strings, the sentences
 * of every record and alarm, and the Japanese operations manual use none of its forbidden variants;
 * Japanese errors carry no English, in i18n and in what the API answers a Japanese screen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmType, RecordCatalogue } from '../../controller/domain/index.js';
import { STRINGS } from '../../dashboards/i18n.js';
import { alarmSentence, emptyNames, recordSentence } from '../../dashboards/sentences.js';
import { ROOT } from '../helpers/util.js';
import { makeDash, type TestDash } from './helpers.js';

interface Term {
  ja: string;
  en: string;
  forbidden: string[];
}

/** The table under "## Terms": | 日本語 | English | meaning | where | 使わない表現 | code |. */
function glossary(): Term[] {
  const text = readFileSync(join(ROOT, 'docs/glossary.md'), 'utf8');
  const start = text.indexOf('## Terms');
  expect(start).toBeGreaterThan(0);
  const rows = text
    .slice(start)
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| 日本語'));
  return rows.map((l) => {
    const cells = l.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim());
    return {
      ja: cells[0]!,
      en: cells[1]!,
      forbidden: cells[4] === '—' ? [] : cells[4]!.split('、').map((x) => x.trim()),
    };
  });
}

const terms = glossary();
/** Every approved Japanese term ("施錠・解錠" is two). */
const approved = terms.flatMap((t) => t.ja.split('・')).sort((a, b) => b.length - a.length);

/** The forbidden variants in `text`, once the approved terms are taken out (委託事業者 holds 業者). */
function violations(text: string): string[] {
  let rest = text;
  for (const a of approved) rest = rest.replaceAll(a, '〓');
  return terms.flatMap((t) => t.forbidden.filter((f) => rest.includes(f)).map((f) => `${f} (use ${t.ja})`));
}

const jaStrings = Object.entries(STRINGS).map(([key, [ja]]) => ({ key, ja }));

describe('the glossary', () => {
  it('defines the terms the manager reads, each with its English and its forbidden variants', () => {
    const names = terms.map((t) => t.ja);
    for (const must of [
      '入退室管理簿',
      '来訪者',
      '同行者',
      '委託事業者',
      'カード',
      'こじ開け',
      '長時間開放',
      '改ざん検知',
    ])
      expect(names, must).toContain(must);
    for (const t of terms) expect(t.en, t.ja).toMatch(/[a-z]/i);
    expect(terms.flatMap((t) => t.forbidden)).toEqual(
      expect.arrayContaining(['バッジ', 'いたずら', '業者', '開放放置', '人とバッジ']),
    );
  });

  it('finds a forbidden variant where there is one (the check can fail)', () => {
    expect(violations('人とバッジ')).not.toEqual([]);
    expect(violations('扉装置のいたずら')).not.toEqual([]);
    expect(violations('委託事業者')).toEqual([]);
    expect(violations('業者')).not.toEqual([]);
  });

  it('is followed by every Japanese string of the dashboard', () => {
    const bad = jaStrings.flatMap(({ key, ja }) => violations(ja).map((v) => `${key}: ${v}`));
    expect(bad).toEqual([]);
  });

  it('is followed by every sentence of a record and an alarm', () => {
    const names = emptyNames('Asia/Tokyo');
    const bad: string[] = [];
    for (const type of Object.keys(RecordCatalogue)) {
      for (const data of [
        {},
        { result: 'granted', direction: 'in' },
        { result: 'denied', reason: 'badge_lost' },
      ]) {
        const s = recordSentence(
          { type, at: 0, door: null, person: 'p_0a1b2c3d4e5f', actor: null, data },
          names,
          'ja',
        );
        bad.push(...violations(s).map((v) => `${type}: ${v}`));
      }
    }
    for (const type of AlarmType.options) {
      const s = alarmSentence({ type, door: null, person: null, detail: '' }, names, 'ja');
      bad.push(...violations(s).map((v) => `alarm ${type}: ${v}`));
    }
    expect(bad).toEqual([]);
  });

  it('is followed by the Japanese operations manual', () => {
    const text = readFileSync(join(ROOT, 'docs/operations.ja.md'), 'utf8');
    const bad = text
      .split('\n')
      .flatMap((line, i) => violations(line.replace(/`[^`]*`/g, '')).map((v) => `line ${i + 1}: ${v}`));
    expect(bad).toEqual([]);
  });
});

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

/**
 * An English parenthetical: brackets holding no Japanese but an English word — not a config key
 * (`dashboard.hostnames`), a command, a clause number (§4(3)) or an acronym.
 */
function englishParenthetical(ja: string): string | null {
  // Placeholders ({name}) are filled with names and labels, not English.
  for (const m of ja.replace(/\{[a-z_]+\}/g, '').matchAll(/[（(]([^）)]*)[）)]/g)) {
    const inner = m[1]!;
    if (JAPANESE.test(inner) || inner.startsWith('sekisho ')) continue;
    const words = inner.match(/[A-Za-z]{3,}/g) ?? [];
    const english = words.filter((w) => !/^[A-Z]+$/.test(w) && !/^(sekisho|root)$/.test(w));
    if (english.length && !/[._/-]/.test(inner)) return m[0];
  }
  return null;
}

describe('errors in the screen’s language only', () => {
  it('no Japanese error carries English in brackets, no English one Japanese', () => {
    expect(englishParenthetical('記録できません（storage fault）')).not.toBeNull();
    expect(englishParenthetical('名前で開いてください（dashboard.hostnames）')).toBeNull();
    const errors = Object.entries(STRINGS).filter(([k]) => k.startsWith('error_'));
    expect(errors.length).toBeGreaterThan(20);
    for (const [key, [ja, en]] of errors) {
      expect(englishParenthetical(ja), key).toBeNull();
      expect(ja, key).toMatch(JAPANESE);
      expect(en, key).not.toMatch(JAPANESE);
    }
    // And no Japanese string of the dashboard, errors or not, has an English aside.
    const asides = jaStrings.filter(({ ja }) => englishParenthetical(ja) !== null).map((x) => x.key);
    expect(asides).toEqual([]);
  });

  describe('what the API answers', () => {
    let d: TestDash;
    beforeAll(async () => {
      d = await makeDash();
    }, 60_000);
    afterAll(() => d?.close());

    it('gives a Japanese screen Japanese text, and keeps the English message for programs', async () => {
      const op = await d.login('operator1');
      const ja = { 'accept-language': 'ja' };
      const en = { 'accept-language': 'en' };
      // A code with words of its own, a malformed body (zod's English message), an unknown door.
      for (const [method, url, body] of [
        ['POST', '/api/alarms/999999/ack', { comment: 'x' }],
        ['POST', '/api/alarms/1/ack', { comment: '' }],
        ['POST', '/api/doors/no-such-door/mode', { mode: 'lockdown' }],
      ] as const) {
        const rj = (await op.req(method, url, body, ja)).json();
        expect(rj.error.text, url).toMatch(JAPANESE);
        expect(rj.error.text, url).not.toMatch(/[A-Za-z]{3,}/);
        expect(rj.error.message, url).not.toMatch(JAPANESE);
        const re = (await op.req(method, url, body, en)).json();
        expect(re.error.text, url).not.toMatch(JAPANESE);
      }
      // A code with no words of its own (Fastify's, for a body over the limit): Japanese words by its status.
      const big = await op.req('POST', '/api/alarms/1/ack', { comment: 'x'.repeat(2_000_000) }, ja);
      expect(big.statusCode).toBe(413);
      expect(big.json().error.text).toMatch(JAPANESE);
      expect(big.json().error.text).not.toMatch(/[A-Za-z]{3,}/);
      // A page's error (no such alarm): the Japanese page holds no English message.
      const page = await op.req('GET', '/alarms/999999', undefined, ja);
      expect(page.statusCode).toBe(404);
      expect(page.body).toContain('ページが見つかりません。');
      expect(page.body).not.toContain('no alarm 999999');
      expect((await op.req('GET', '/alarms/999999', undefined, en)).body).toContain('no alarm 999999');
      // A route that does not exist (the not-found handler's answer): Japanese too.
      const odd = await op.req('POST', '/api/no-such-route', {}, ja);
      expect(odd.statusCode).toBe(404);
      const oj = odd.json();
      expect(oj.error.text).toMatch(JAPANESE);
      expect(oj.error.message).not.toMatch(JAPANESE);
    });
  });
});
