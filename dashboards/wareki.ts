/**
 * Dates in the Japanese era calendar (和暦) for the printed 入退室管理簿: `2026-12-07` → 令和8年12月7日.
 * Pure: it reads the calendar date as the site's wall clock gave it (`YYYY-MM-DD[ HH:MM[:SS]]`),
 * never a time zone. An era's first year is 元年. The eras of the modern calendar from 1926 are
 * enough: the log starts in 1970 at the earliest (the print route refuses earlier months); a date
 * before 昭和 is given back in the Gregorian form rather than guessed.
 */

export interface Era {
  /** As written in Japanese. */
  ja: string;
  /** As romanised in English. */
  en: string;
  /** The era's first day, `YYYY-MM-DD` (Gregorian, the day the era name took effect). */
  start: string;
}

/** Newest first. Each era runs until the day before the next one starts. */
export const ERAS: readonly Era[] = [
  { ja: '令和', en: 'Reiwa', start: '2019-05-01' },
  { ja: '平成', en: 'Heisei', start: '1989-01-08' },
  { ja: '昭和', en: 'Showa', start: '1926-12-25' },
];

export interface WarekiDate {
  era: Era;
  /** The year of the era, 1 for 元年. */
  year: number;
  month: number;
  day: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?$/;

/** The era date of a `YYYY-MM-DD` date, or null for one before 昭和 or one that is not a date. */
export function toWareki(date: string): WarekiDate | null {
  const m = DATE.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  const ymd = `${m[1]}-${m[2]}-${m[3]}`;
  // ISO dates compare as strings.
  const era = ERAS.find((e) => ymd >= e.start);
  if (!era) return null;
  return { era, year: y - Number(era.start.slice(0, 4)) + 1, month: mo, day: d };
}

/**
 * A wall-clock date or date-time written with its era: `令和8年12月7日 14:05:09` (ja),
 * `Reiwa 8-12-07 14:05:09` (en). Text that is not such a date, or a date before 昭和, comes back as given.
 */
export function formatWareki(text: string, lang: 'ja' | 'en'): string {
  const w = toWareki(text);
  if (!w) return text;
  const time = DATE.exec(text)?.[4];
  const rest = time ? ` ${time}` : '';
  if (lang === 'ja') {
    const year = w.year === 1 ? '元' : String(w.year);
    return `${w.era.ja}${year}年${w.month}月${w.day}日${rest}`;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${w.era.en} ${w.year}-${pad(w.month)}-${pad(w.day)}${rest}`;
}

/** A month `YYYY-MM` with its era: `令和8年12月` / `Reiwa 8-12`; as given before 昭和. */
export function formatWarekiMonth(month: string, lang: 'ja' | 'en'): string {
  // The last day of the month decides: a month in which an era begins is named by the new era
  // (2019-05 is 令和元年5月; 1989-01 is 平成元年1月 although its first week was 昭和64年).
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const w = toWareki(`${month}-${String(last).padStart(2, '0')}`);
  if (!w) return month;
  if (lang === 'ja') return `${w.era.ja}${w.year === 1 ? '元' : w.year}年${w.month}月`;
  return `${w.era.en} ${w.year}-${String(w.month).padStart(2, '0')}`;
}
