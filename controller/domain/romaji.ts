/**
 * A person's reading (フリガナ) and the keys the people search matches it by: kana typed in either
 * script, and romaji however it is spelt (Hepburn, kunrei, long vowels written or not: "sato",
 * "satou", "satoh" all find サトウ). Pure: no I/O.
 */

const HIRAGANA_FIRST = 0x3041;
const HIRAGANA_LAST = 0x3096;
const TO_KATAKANA = 0x60;

/** Half-width kana to full-width (NFKC), hiragana to katakana, spaces collapsed, trimmed. */
export function toKatakana(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFKC')) {
    const c = ch.codePointAt(0)!;
    out += c >= HIRAGANA_FIRST && c <= HIRAGANA_LAST ? String.fromCodePoint(c + TO_KATAKANA) : ch;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** Whether the text is kana only (either script, with spaces, ・ and ー): a reading, or a kana query. */
export function isKana(text: string): boolean {
  return /^[\u30A1-\u30FA\u30FC ・]+$/.test(toKatakana(text)) && text.trim() !== '';
}

/**
 * A reading as stored: katakana, one space between parts; `undefined` when the text is not kana
 * (the caller says why). Hiragana and half-width katakana are converted.
 */
export function normaliseReading(text: string): string | undefined {
  const k = toKatakana(text).replace(/・/g, ' ').replace(/ +/g, ' ').trim();
  return k !== '' && /^[\u30A1-\u30FA\u30FC ]+$/.test(k) ? k : undefined;
}

// biome-ignore format: a kana table reads best in rows of its own
const BASE: Record<string, string> = {
  ア: 'a', イ: 'i', ウ: 'u', エ: 'e', オ: 'o',
  カ: 'ka', キ: 'ki', ク: 'ku', ケ: 'ke', コ: 'ko',
  ガ: 'ga', ギ: 'gi', グ: 'gu', ゲ: 'ge', ゴ: 'go',
  サ: 'sa', シ: 'shi', ス: 'su', セ: 'se', ソ: 'so',
  ザ: 'za', ジ: 'ji', ズ: 'zu', ゼ: 'ze', ゾ: 'zo',
  タ: 'ta', チ: 'chi', ツ: 'tsu', テ: 'te', ト: 'to',
  ダ: 'da', ヂ: 'ji', ヅ: 'zu', デ: 'de', ド: 'do',
  ナ: 'na', ニ: 'ni', ヌ: 'nu', ネ: 'ne', ノ: 'no',
  ハ: 'ha', ヒ: 'hi', フ: 'fu', ヘ: 'he', ホ: 'ho',
  バ: 'ba', ビ: 'bi', ブ: 'bu', ベ: 'be', ボ: 'bo',
  パ: 'pa', ピ: 'pi', プ: 'pu', ペ: 'pe', ポ: 'po',
  マ: 'ma', ミ: 'mi', ム: 'mu', メ: 'me', モ: 'mo',
  ヤ: 'ya', ユ: 'yu', ヨ: 'yo',
  ラ: 'ra', リ: 'ri', ル: 'ru', レ: 're', ロ: 'ro',
  ワ: 'wa', ヰ: 'i', ヱ: 'e', ヲ: 'o', ン: 'n', ヴ: 'vu',
  ァ: 'a', ィ: 'i', ゥ: 'u', ェ: 'e', ォ: 'o', ャ: 'ya', ュ: 'yu', ョ: 'yo', ヮ: 'wa',
  ヵ: 'ka', ヶ: 'ke', ヷ: 'va', ヸ: 'vi', ヹ: 've', ヺ: 'vo',
};

/** A kana followed by a small kana: one syllable (キャ kya, シェ she, ティ ti, ファ fa, …). */
const SMALL_Y: Record<string, string> = { ャ: 'a', ュ: 'u', ョ: 'o' };
const SMALL_V: Record<string, string> = { ァ: 'a', ィ: 'i', ゥ: 'u', ェ: 'e', ォ: 'o' };
/** The consonant part that a small ャ/ュ/ョ follows: シ+ャ = sha, not shya. */
// biome-ignore format: a kana table reads best in rows of its own
const Y_STEM: Record<string, string> = {
  キ: 'ky', ギ: 'gy', シ: 'sh', ジ: 'j', チ: 'ch', ヂ: 'j', ニ: 'ny', ヒ: 'hy', ビ: 'by', ピ: 'py',
  ミ: 'my', リ: 'ry',
};
/** The consonant part a small vowel follows (ファ fa, ティ ti, ウィ wi, シェ she, ヴァ va…). */
// biome-ignore format: a kana table reads best in rows of its own
const V_STEM: Record<string, string> = {
  フ: 'f', テ: 't', デ: 'd', ウ: 'w', ヴ: 'v', シ: 'sh', ジ: 'j', チ: 'ch', ツ: 'ts', ト: 't', ド: 'd',
  ク: 'kw', グ: 'gw', イ: 'y',
};

/** Modified Hepburn of a katakana (or hiragana) text, lower-case; unknown characters are kept. */
export function kanaToHepburn(text: string): string {
  const chars = Array.from(toKatakana(text));
  const syllables: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const next = chars[i + 1];
    if (next !== undefined && SMALL_Y[next] && Y_STEM[ch]) {
      syllables.push(Y_STEM[ch] + SMALL_Y[next]);
      i++;
    } else if (next !== undefined && SMALL_V[next] && V_STEM[ch]) {
      syllables.push(V_STEM[ch] + SMALL_V[next]);
      i++;
    } else if (ch === 'ッ') {
      syllables.push('ッ'); // doubles the next consonant, below
    } else if (ch === 'ー') {
      const prev = syllables.at(-1);
      const vowel = prev?.at(-1);
      syllables.push(vowel !== undefined && 'aiueo'.includes(vowel) ? vowel : '');
    } else syllables.push(BASE[ch] ?? ch);
  }
  let out = '';
  for (let i = 0; i < syllables.length; i++) {
    const s = syllables[i]!;
    if (s === 'ッ') {
      const next = syllables[i + 1] ?? '';
      out += next.startsWith('ch') ? 't' : /^[bcdfghjkmpqrstvwxz]/.test(next) ? next[0] : '';
    } else if (s === 'n' && /^[aiueoy]/.test(syllables[i + 1] ?? '')) out += "n'";
    else out += s;
  }
  return out;
}

/**
 * The search key of a romaji text: how it is matched, whichever way it was spelt. Letters only,
 * lower-case; kunrei and Hepburn spellings made one (shi/si, chi/ti, tsu/tu, fu/hu, ji/zi, sha/sya),
 * m before b/p as n, long vowels written as oh/ou/oo/uu/aa/ii/ee as one vowel.
 */
export function romajiKey(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // ō → o
    .toLowerCase()
    .replace(/[^a-z]/g, '')
    .replace(/tsu/g, 'tu')
    .replace(/shi/g, 'si')
    .replace(/sh/g, 'sy')
    .replace(/chi/g, 'ti')
    .replace(/ch/g, 'ty')
    .replace(/ji/g, 'zi')
    .replace(/j/g, 'zy')
    .replace(/fu/g, 'hu')
    .replace(/m(?=[bp])/g, 'n')
    .replace(/oh(?![aiueoy])/g, 'o')
    .replace(/ou/g, 'o')
    .replace(/([aiueo])\1+/g, '$1');
}

/** The search key of a reading (katakana): its Hepburn romaji, as `romajiKey`. */
export function readingKey(reading: string): string {
  return romajiKey(kanaToHepburn(reading));
}

/** What a typed people search matches besides the name and ID: the reading as kana, its key. */
export interface ReadingQuery {
  /** Katakana, when the query is kana. */
  kana: string | null;
  /** The romaji key, when the query is kana or at least two latin letters (no digits). */
  key: string | null;
}

export function readingQuery(query: string): ReadingQuery {
  const q = query.trim();
  if (isKana(q)) {
    const key = readingKey(q);
    return { kana: toKatakana(q), key: key === '' ? null : key };
  }
  if (/^[\p{Script=Latin}\s'’.-]+$/u.test(q)) {
    const key = romajiKey(q);
    return { kana: null, key: key.length >= 2 ? key : null };
  }
  return { kana: null, key: null };
}
