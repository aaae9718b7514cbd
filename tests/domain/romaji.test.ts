import { describe, expect, it } from 'vitest';
import {
  isKana,
  kanaToHepburn,
  normaliseReading,
  readingKey,
  readingQuery,
  romajiKey,
  toKatakana,
} from '../../controller/domain/romaji.js';

describe('readings (フリガナ)', () => {
  it('keeps katakana, converts hiragana and half-width kana, collapses spaces', () => {
    expect(normaliseReading('さとう　はなこ')).toBe('サトウ ハナコ');
    expect(normaliseReading(' ｻﾄｳ  ﾊﾅｺ ')).toBe('サトウ ハナコ');
    expect(normaliseReading('ヤマダ・タロウ')).toBe('ヤマダ タロウ');
    expect(normaliseReading('ジョー')).toBe('ジョー');
    expect(toKatakana('がっこう')).toBe('ガッコウ');
  });

  it('refuses what is not kana', () => {
    for (const bad of ['佐藤', 'sato', 'サトウ1', '', '   ', 'サトウ\u202e'])
      expect(normaliseReading(bad)).toBeUndefined();
    expect(isKana('さとう')).toBe(true);
    expect(isKana('sato')).toBe(false);
  });
});

describe('Hepburn', () => {
  it.each([
    ['サトウ', 'satou'],
    ['ヤマダ タロウ', 'yamada tarou'],
    ['シミズ', 'shimizu'],
    ['チバ', 'chiba'],
    ['ツジ', 'tsuji'],
    ['フジタ', 'fujita'],
    ['キョウコ', 'kyouko'],
    ['ショウジ', 'shouji'],
    ['ジュン', 'jun'],
    ['チャン', 'chan'],
    ['ハットリ', 'hattori'],
    ['マッチャ', 'matcha'],
    ['シンイチ', "shin'ichi"],
    ['カンヤ', "kan'ya"],
    ['ジョー', 'joo'],
    ['ティナ', 'tina'],
    ['ファン', 'fan'],
    ['ヴィオラ', 'viora'],
    ['オオノ', 'oono'],
    ['さいとう', 'saitou'],
  ])('%s is %s', (kana, romaji) => {
    expect(kanaToHepburn(kana)).toBe(romaji);
  });
});

describe('search keys', () => {
  it('finds サトウ by sato, satou, satoh, Satō and さとう', () => {
    const key = readingKey('サトウ');
    for (const typed of ['sato', 'satou', 'satoh', 'Satō', 'SATO', 'さとう', 'サトウ', 'ｻﾄｳ']) {
      const q = readingQuery(typed);
      expect(q.key, typed).toBe(key);
    }
  });

  it('makes Hepburn and kunrei spellings one', () => {
    expect(romajiKey('shimizu')).toBe(romajiKey('simizu'));
    expect(romajiKey('chiba')).toBe(romajiKey('tiba'));
    expect(romajiKey('tsuji')).toBe(romajiKey('tuzi'));
    expect(romajiKey('fujita')).toBe(romajiKey('huzita'));
    expect(romajiKey('shouji')).toBe(romajiKey('syoozi'));
    expect(romajiKey('Shimbashi')).toBe(romajiKey('shinbashi'));
    expect(romajiKey('Ōno')).toBe(readingKey('オオノ'));
    expect(romajiKey('kohno')).toBe(readingKey('コウノ'));
    expect(romajiKey("Shin'ichi")).toBe(readingKey('シンイチ'));
  });

  it('keeps names apart that differ', () => {
    expect(readingKey('サトウ')).not.toBe(readingKey('サイトウ'));
    expect(romajiKey('ohashi')).toBe(readingKey('オハシ'));
    expect(readingKey('ハットリ')).not.toBe(readingKey('ハトリ'));
  });

  it('reads a query as kana, romaji, or neither', () => {
    expect(readingQuery('さと')).toEqual({ kana: 'サト', key: 'sato' });
    expect(readingQuery('sa')).toEqual({ kana: null, key: 'sa' });
    expect(readingQuery('s')).toEqual({ kana: null, key: null });
    expect(readingQuery('S-1001')).toEqual({ kana: null, key: null });
    expect(readingQuery('佐藤')).toEqual({ kana: null, key: null });
  });
});
