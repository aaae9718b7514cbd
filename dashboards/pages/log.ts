/** The entry/exit log page (filters, a page of rows) and its printable monthly view. */
import { Direction } from '../../controller/domain/index.js';
import { html, type SafeHtml } from '../html.js';
import type { Translate } from '../i18n.js';
import { AccessResult } from '../vocabulary.js';
import { formatWareki, formatWarekiMonth } from '../wareki.js';
import {
  actorLabel,
  categoryLabel,
  doorName,
  fmtTime,
  may,
  page,
  reasonLabel,
  type Shell,
} from './layout.js';

/** One badge presentation as the log shows it. */
export interface LogRowView {
  seq: number;
  time: string;
  doorName: string;
  direction: string;
  result: string;
  reason: string;
  personName: string | null;
  displayId: string | null;
  category: string | null;
  masked: string | null;
  escortName: string | null;
  /** An entry with the mechanical key, transcribed from the paper ledger. */
  paper?: { ref: string; transcribedBy: string; approvedBy: string; outage: string | null } | null;
}

/** The log's filter as the request gave it (the form shows it again, the links carry it on). */
export interface LogFilterView {
  from?: string | undefined;
  to?: string | undefined;
  person?: string | undefined;
  badge?: string | undefined;
  door?: string | undefined;
  direction?: string | undefined;
  result?: string | undefined;
  reason?: string | undefined;
  visitors?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface LogView {
  query: LogFilterView;
  rows: readonly LogRowView[];
  /** The cursor of the next page. */
  next: string | null;
  /** `YYYY-MM-DD` in the site's zone (the print link's month when no `from` is given). */
  today: string;
}

function filterForm(v: Shell, q: LogFilterView, today: string): SafeHtml {
  const { t, doors } = v;
  const canExport = may(v, 'log.export');
  const sel = (val: string | undefined, x: string) => (val === x ? html` selected` : '');
  const qs = new URLSearchParams();
  for (const [k, val] of Object.entries(q))
    if (val !== undefined && k !== 'cursor' && k !== 'limit') qs.set(k, String(val));
  const month = (q.from ?? today).slice(0, 7);
  return html`<form class="filters card" method="GET" action="/log" id="log-filters">
  <label>${t('from')}<input type="date" name="from" value="${q.from ?? ''}"></label>
  <label>${t('to')}<input type="date" name="to" value="${q.to ?? ''}"></label>
  <label>${t('person')}<input name="person" value="${q.person ?? ''}" placeholder="${t('person_hint')}"></label>
  <label>${t('badge')}<input name="badge" value="${q.badge ?? ''}" placeholder="${t('badge_hint')}"></label>
  <label>${t('door')}<select name="door"><option value="">${t('all')}</option>${doors.map(
    (d) => html`<option value="${d.id}"${sel(q.door, d.id)}>${d.name}</option>`,
  )}</select></label>
  <label>${t('direction')}<select name="direction"><option value="">${t('all')}</option>
    ${Direction.options.map((x) => html`<option value="${x}"${sel(q.direction, x)}>${t(x)}</option>`)}</select></label>
  <label>${t('result')}<select name="result"><option value="">${t('all')}</option>
    ${AccessResult.options.map((x) => html`<option value="${x}"${sel(q.result, x)}>${t(x)}</option>`)}</select></label>
  <label class="check"><input type="checkbox" name="visitors" value="1"${q.visitors === '1' ? html` checked` : ''}> ${t('visitors_only')}</label>
  <div class="buttons">
    <button type="submit" class="primary">${t('filter')}</button>
    <a class="button" href="/log">${t('clear')}</a>
    ${canExport ? html`<a class="button" id="export-csv" href="/api/log.csv?${qs.toString()}" download>${t('export_csv')}</a>` : ''}
    <a class="button" id="print-month" href="/log/print?month=${month}${q.door ? `&door=${encodeURIComponent(q.door)}` : ''}">${t('print_month')}</a>
    <a class="button" id="paper-form" href="/log/paper-form">${t('paper_form_link')}</a>
  </div>
</form>`;
}

/** A name or ID kept apart from the text around it; nothing at all when there is none (a card hides an empty cell). */
function bdi(text: string | null): SafeHtml | '' {
  return text ? html`<bdi>${text}</bdi>` : '';
}

function logTable(
  t: Translate,
  rows: readonly LogRowView[],
  opts: { time?: (text: string) => string; id?: string | null } = {},
): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${t('no_rows')}</p>`;
  const time = opts.time ?? ((x: string) => x);
  const id = opts.id === undefined ? 'log-table' : opts.id;
  return html`<table class="grid log"${id ? html` id="${id}"` : ''}>
<thead><tr><th>${t('time')}</th><th>${t('door')}</th><th>${t('direction')}</th><th>${t('result')}</th><th>${t('reason')}</th>
<th>${t('name')}</th><th>${t('id_card')}</th><th>${t('category')}</th><th>${t('badge')}</th><th>${t('escort')}</th></tr></thead>
<tbody>${rows.map(
    (
      r,
    ) => html`<tr class="${r.result} ${r.category === 'visitor' ? 'visitor' : ''}" data-seq="${r.seq}"${r.paper ? html` data-transcribed="${r.paper.ref}"` : ''}>
<td class="nowrap c-time">${time(r.time)}</td><td class="c-door">${r.doorName}</td><td class="c-dir">${r.direction ? t(r.direction) : ''}</td>
<td class="c-result"><span class="tag ${r.result === 'granted' ? 'ok' : r.paper ? 'warn' : 'bad'}">${r.result ? t(r.result) : ''}</span></td>
<td class="c-reason">${reasonLabel(t, r.reason)}${r.paper ? html`<div class="hint">${t('manual_paper_ref')} ${r.paper.ref} · ${t('manual_approved_by')} ${r.paper.approvedBy}${r.paper.outage === null ? html` · <span class="tag bad">${t('manual_outside_outage')}</span>` : ''}</div>` : ''}</td><td class="c-name"><bdi>${r.personName ?? t('unknown_person')}</bdi></td><td class="c-id">${bdi(r.displayId)}</td>
<td class="c-cat">${r.category ? categoryLabel(t, r.category) : ''}</td><td class="mono c-badge">${r.masked ?? ''}</td><td class="c-escort">${bdi(r.escortName)}</td>
</tr>`,
  )}</tbody></table>`;
}

export function logPage(v: Shell, { query, rows, next, today }: LogView): SafeHtml {
  const { t } = v;
  const qs = new URLSearchParams();
  for (const [k, val] of Object.entries(query))
    if (val !== undefined && k !== 'cursor') qs.set(k, String(val));
  const nextHref = next ? `/log?${qs.toString()}&cursor=${next}` : null;
  return page(v, {
    title: t('log_title'),
    active: 'log',
    wide: true,
    body: html`<h1>${t('log_title')}</h1>
${filterForm(v, query, today)}
<section class="card">${logTable(t, rows)}
<p class="pager">${query.cursor ? html`<a href="/log?${qs.toString()}">${t('first_page')}</a>` : ''}
${nextHref ? html`<a href="${nextHref}" id="next-page" rel="next">${t('next_page')}</a>` : ''}</p></section>`,
  });
}

export interface LogPrintView {
  /** `YYYY-MM`. */
  month: string;
  /** One door, or all. */
  door: string | undefined;
  /** The month's rows, oldest first. */
  rows: readonly LogRowView[];
  /** The rows stop at the limit: there are more. */
  truncated: boolean;
  /** When it is printed. */
  now: number;
  /** The journal's head when printed and the signing key's full fingerprint, for a reviewer to compare. */
  evidence: { headSeq: number; headHash: string; fingerprint: string };
  /** The seal boxes (config `ledger.seals`; empty: one box headed 確認者印) and the calendar of the dates. */
  ledger?: { seals: readonly string[]; dates: 'gregorian' | 'japanese' };
}

/**
 * Print lines per sheet (A4 landscape at the print stylesheet's 9 pt): fewer on the first, whose head
 * carries the evidence and the seals. Each sheet is numbered "n / N" by the page itself, so the
 * numbers hold in any browser; tests/browser/layout.test.ts checks that Chromium prints exactly one
 * PDF page per sheet.
 */
export const FIRST_SHEET_LINES = 14;
export const SHEET_LINES = 24;

/** Roughly how many characters of a name fit one line of its column on paper (a CJK character is one). */
const NAME_COLUMN = 14;

function textWidth(text: string | null): number {
  let w = 0;
  for (const ch of text ?? '') w += ch.codePointAt(0)! > 0x2e7f ? 1 : 0.55;
  return w;
}

/** The lines a row takes on paper: its longest name wrapped in its column, one more for a transcription's paper line. */
export function rowLines(r: Pick<LogRowView, 'personName' | 'escortName' | 'paper'>): number {
  const names = Math.max(
    1,
    Math.ceil(Math.max(textWidth(r.personName), textWidth(r.escortName)) / NAME_COLUMN),
  );
  return names + (r.paper ? 1 : 0);
}

/** The rows cut into sheets of at most FIRST_SHEET_LINES, then SHEET_LINES print lines; one sheet at least. */
export function sheetsOf<T>(rows: readonly T[], lines: (row: T) => number = () => 1): T[][] {
  const sheets: T[][] = [[]];
  let used = 0;
  for (const row of rows) {
    const n = lines(row);
    const budget = sheets.length === 1 ? FIRST_SHEET_LINES : SHEET_LINES;
    if (used + n > budget && sheets.at(-1)!.length > 0) {
      sheets.push([]);
      used = 0;
    }
    sheets.at(-1)!.push(row);
    used += n;
  }
  return sheets;
}

function printOptions(v: Shell, p: LogPrintView, dates: 'gregorian' | 'japanese'): SafeHtml {
  const { t } = v;
  const sel = (on: boolean) => (on ? html` selected` : '');
  return html`<form class="filters card no-print" id="print-options" method="GET" action="/log/print">
  <label>${t('print_month_pick')}<input type="month" name="month" value="${p.month}" min="1970-01" max="9998-12" required></label>
  <label>${t('door')}<select name="door"><option value="">${t('all')}</option>${v.doors.map(
    (d) => html`<option value="${d.id}"${sel(p.door === d.id)}>${d.name}</option>`,
  )}</select></label>
  <label>${t('print_dates')}<select name="dates">
    <option value="gregorian"${sel(dates === 'gregorian')}>${t('print_dates_gregorian')}</option>
    <option value="japanese"${sel(dates === 'japanese')}>${t('print_dates_japanese')}</option></select></label>
  <div class="buttons">
    <button type="submit" class="primary">${t('print_show')}</button>
    <button type="button" data-print>${t('print_button')}</button>
  </div>
</form>`;
}

export function logPrintPage(v: Shell, p: LogPrintView): SafeHtml {
  const { t } = v;
  const { rows } = p;
  const dates = p.ledger?.dates ?? 'gregorian';
  const seals = p.ledger?.seals.length ? p.ledger.seals : [t('checked_by')];
  const monthText = dates === 'japanese' ? formatWarekiMonth(p.month, v.lang) : p.month;
  const time = dates === 'japanese' ? (x: string) => formatWareki(x, v.lang) : undefined;
  const title = t('print_title', { month: monthText });
  const sheets = sheetsOf(rows, rowLines);
  return page(v, {
    title,
    active: 'log',
    wide: true,
    body: html`<article class="print-view" data-dates="${dates}">
${printOptions(v, p, dates)}
${sheets.map(
  (sheet, i) => html`<section class="sheet" data-sheet="${i + 1}">
${
  i === 0
    ? html`<header class="print-head">
  <div class="print-title">
  <h1>${title}</h1>
  <p>${v.siteName} · ${p.door ? doorName(v, p.door) : t('all')} · ${t('rows_count', { n: rows.length })}${p.truncated ? ' …' : ''}</p>
  <p class="meta">${t('printed_at', { time: time ? time(fmtTime(v, p.now)) : fmtTime(v, p.now), by: actorLabel(v, v.actor) })}</p>
  <p class="meta" id="print-evidence">${t('print_head')}: #${p.evidence.headSeq} <span class="mono">${p.evidence.headHash}</span><br>
  ${t('print_key')}: <span class="mono" id="print-key">${p.evidence.fingerprint}</span></p>
  </div>
  <table class="seals" id="print-seals"><tr>${seals.map((s) => html`<th>${s}</th>`)}</tr><tr>${seals.map(() => html`<td></td>`)}</tr></table>
</header>`
    : html`<header class="sheet-head"><strong>${title}</strong> · ${v.siteName}</header>`
}
${logTable(t, sheet, { ...(time ? { time } : {}), id: i === 0 ? 'log-table' : null })}
<footer class="sheet-foot">${title} · <span class="page-no">${t('print_page', { n: i + 1, total: sheets.length })}</span></footer>
</section>`,
)}
</article>`,
  });
}
