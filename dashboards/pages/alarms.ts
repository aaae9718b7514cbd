/** The alarms page (the active alarms, the history) and one alarm with the journal rows around it. */
import type { ActiveAlarm } from '../../controller/domain/index.js';
import { html, type SafeHtml } from '../html.js';
import type { AlarmEntry } from '../logindex.js';
import { alarmSentence, detailLines, recordSentence } from '../sentences.js';
import {
  activeAlarmItem,
  actorLabel,
  alarmLabel,
  doorName,
  fmtTime,
  namesOf,
  page,
  type Shell,
} from './layout.js';

export interface AlarmsView {
  active: readonly ActiveAlarm[];
  /** The history's filter choices, and the one chosen. */
  types: readonly string[];
  type: string | undefined;
  history: readonly AlarmEntry[];
  /** The cursor of the history's next page. */
  next: string | null;
  /** The cursor this page was opened at (a later page: not live). */
  cursor?: string | undefined;
  /** The page's length, as asked. */
  limit?: number | undefined;
}

/**
 * The alarm history (newest first) with its pager; on the first page assets/alarms.js replaces it
 * live from the event stream (`alarm-history`), keeping the focus where it is.
 */
export function alarmHistoryList(v: Shell, s: Pick<AlarmsView, 'history' | 'next' | 'type'>): SafeHtml {
  const { t } = v;
  const { history: rows, next } = s;
  return html`<div id="alarm-history-live" data-live-history>
${
  rows.length
    ? html`<table class="grid" id="alarm-history"><thead><tr><th>${t('raised_at')}</th><th>${t('alarm')}</th><th>${t('severity')}</th><th>${t('door')}</th>
<th>${t('condition')}</th><th>${t('acknowledged')}</th><th>${t('comment')}</th></tr></thead><tbody>${rows.map(
        (
          a,
        ) => html`<tr data-alarm="${a.id}"><td class="nowrap"><a href="/alarms/${a.id}">${fmtTime(v, a.at)}</a></td>
<td>${alarmLabel(t, a.type)}</td><td><span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></td><td>${doorName(v, a.door)}</td>
<td>${a.clearedAt ? `${t('condition_cleared')} ${fmtTime(v, a.clearedAt)}` : t('condition_active')}</td>
<td>${a.ackedAt ? t('ack_by', { by: actorLabel(v, a.ackedBy), time: fmtTime(v, a.ackedAt) }) : html`<span class="bad">${t('unacknowledged')}</span>`}</td>
<td>${a.ackComment ?? ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('no_rows')}</p>`
}
${next ? html`<p class="pager"><a href="/alarms?${s.type ? `type=${encodeURIComponent(s.type)}&` : ''}cursor=${next}">${t('next_page')}</a></p>` : ''}
</div>`;
}

/**
 * The active alarms as the Alarms page lists them (by severity, then newest: the route orders
 * them); assets/alarms.js replaces it live, keeping a comment being typed.
 */
export function activeAlarmList(v: Shell, active: readonly ActiveAlarm[]): SafeHtml {
  const { t } = v;
  return html`<div id="active-alarms-live" data-live-alarms>${
    active.length
      ? html`<ul class="alarms" id="active-alarms">${active.map((a) => activeAlarmItem(v, a, { link: true }))}</ul>`
      : html`<p class="empty">${t('no_active_alarms')}</p>`
  }</div>`;
}

export function alarmsPage(v: Shell, s: AlarmsView): SafeHtml {
  const { t } = v;
  const { active } = s;
  return page(v, {
    title: t('alarms_title'),
    active: 'alarms',
    wide: true,
    // The history's first page follows the alarms live, with its filter (assets/alarms.js); a later
    // page stays as it was opened (its rows would otherwise move under the reader).
    ...(s.cursor
      ? {}
      : {
          stream: {
            history: '1',
            ...(s.type ? { type: s.type } : {}),
            ...(s.limit ? { limit: String(s.limit) } : {}),
          },
        }),
    body: html`<h1>${t('alarms_title')}</h1>
<section class="card">
<h2>${t('active_alarms')}</h2>
<p class="hint">${t('alarms_order_hint')}</p>
${activeAlarmList(v, active)}
</section>
<section class="card">
<h2>${t('alarm_history')}</h2>
<form method="GET" action="/alarms" class="filters inline-filters">
  <label>${t('alarm')}<select name="type"><option value="">${t('all')}</option>${s.types.map(
    (x) => html`<option value="${x}"${s.type === x ? html` selected` : ''}>${alarmLabel(t, x)}</option>`,
  )}</select></label>
  <button type="submit">${t('filter')}</button>
</form>
${alarmHistoryList(v, s)}
</section>`,
  });
}

/** A journal row shown beside an alarm. */
export interface ContextRow {
  seq: number;
  at: number;
  type: string;
  door?: string | null;
  person?: string | null;
  actor: string | null;
  data: unknown;
}

/** The alarm's own columns that the history's entry lacks: whom and what on the door it is about. */
export interface AlarmSubject {
  person: string | null;
  source: string | null;
}

/**
 * One alarm: what happened as a sentence, and the records around it (§4(2)③) as sentences, each
 * with its raw fields behind 詳細 / Details (times in the site's zone, names for ids).
 */
export function alarmPage(
  v: Shell,
  a: AlarmEntry,
  rows: readonly ContextRow[],
  subject: AlarmSubject = { person: null, source: null },
): SafeHtml {
  const { t } = v;
  const names = namesOf(v);
  const what = alarmSentence({ ...a, ...subject }, names, v.lang);
  const row = (r: ContextRow) => {
    const sr = {
      type: r.type,
      at: r.at,
      door: r.door ?? null,
      person: r.person ?? null,
      actor: r.actor,
      data: r.data,
    };
    const lines = detailLines(sr, names, v.lang);
    return html`<li class="${r.seq === a.id ? 'highlight' : ''}" data-seq="${r.seq}"><span class="nowrap">${fmtTime(v, r.at)}</span>
<span class="sentence">${recordSentence(sr, names, v.lang)}</span>
<details class="raw"><summary>${t('details')}</summary><dl class="facts small">
<dt>${t('record_no')}</dt><dd>#${r.seq}</dd><dt>${t('record_kind')}</dt><dd class="mono">${r.type}</dd>${r.actor ? html`<dt>${t('actor')}</dt><dd>${actorLabel(v, r.actor)}</dd>` : ''}
${lines.map((l) => html`<dt class="mono">${l.key}</dt><dd>${l.value}</dd>`)}</dl></details></li>`;
  };
  return page(v, {
    title: alarmLabel(t, a.type),
    active: 'alarms',
    wide: true,
    body: html`<h1>${alarmLabel(t, a.type)} <span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></h1>
<section class="card"><dl class="facts">
<dt>${t('raised_at')}</dt><dd>${fmtTime(v, a.at)}</dd><dt>${t('door')}</dt><dd>${doorName(v, a.door)}</dd>
<dt>${t('alarm_what')}</dt><dd id="alarm-sentence">${what}</dd>
<dt>${t('condition')}</dt><dd>${a.clearedAt ? `${t('condition_cleared')} ${fmtTime(v, a.clearedAt)}` : t('condition_active')}</dd>
<dt>${t('acknowledged')}</dt><dd>${a.ackedAt ? `${t('ack_by', { by: actorLabel(v, a.ackedBy), time: fmtTime(v, a.ackedAt) })} — ${a.ackComment ?? ''}` : t('unacknowledged')}</dd>
</dl></section>
<section class="card"><h2>${t('alarm_context')}</h2>
${rows.length ? html`<ul class="context" id="alarm-context">${rows.map(row)}</ul>` : html`<p class="empty">${t('no_rows')}</p>`}
</section>`,
  });
}
