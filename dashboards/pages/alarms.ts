/** The alarms page (the active alarms, the history) and one alarm with the journal rows around it. */
import type { ActiveAlarm } from '../../controller/domain/index.js';
import { html, type SafeHtml } from '../html.js';
import type { AlarmEntry } from '../logindex.js';
import { activeAlarmItem, actorLabel, alarmLabel, doorName, fmtTime, page, type Shell } from './layout.js';

export interface AlarmsView {
  active: readonly ActiveAlarm[];
  /** The history's filter choices, and the one chosen. */
  types: readonly string[];
  type: string | undefined;
  history: readonly AlarmEntry[];
  /** The cursor of the history's next page. */
  next: string | null;
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
  const { active, history: rows, next } = s;
  return page(v, {
    title: t('alarms_title'),
    active: 'alarms',
    wide: true,
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
</section>`,
  });
}

/** A journal row shown beside an alarm. */
export interface ContextRow {
  seq: number;
  at: number;
  type: string;
  actor: string | null;
  data: unknown;
}

export function alarmPage(v: Shell, a: AlarmEntry, rows: readonly ContextRow[]): SafeHtml {
  const { t } = v;
  return page(v, {
    title: alarmLabel(t, a.type),
    active: 'alarms',
    wide: true,
    body: html`<h1>${alarmLabel(t, a.type)} <span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></h1>
<section class="card"><dl class="facts">
<dt>${t('raised_at')}</dt><dd>${fmtTime(v, a.at)}</dd><dt>${t('door')}</dt><dd>${doorName(v, a.door)}</dd>
<dt>${t('details')}</dt><dd>${a.detail}</dd>
<dt>${t('condition')}</dt><dd>${a.clearedAt ? `${t('condition_cleared')} ${fmtTime(v, a.clearedAt)}` : t('condition_active')}</dd>
<dt>${t('acknowledged')}</dt><dd>${a.ackedAt ? `${t('ack_by', { by: actorLabel(v, a.ackedBy), time: fmtTime(v, a.ackedAt) })} — ${a.ackComment ?? ''}` : t('unacknowledged')}</dd>
</dl></section>
<section class="card"><h2>${t('alarm_context')}</h2>
<table class="grid"><thead><tr><th>seq</th><th>${t('time')}</th><th>type</th><th>${t('actor')}</th><th>${t('details')}</th></tr></thead>
<tbody>${rows.map(
      (
        r,
      ) => html`<tr class="${r.seq === a.id ? 'highlight' : ''}"><td>${r.seq}</td><td class="nowrap">${fmtTime(v, r.at)}</td><td>${r.type}</td>
<td>${actorLabel(v, r.actor)}</td><td class="mono small">${JSON.stringify(r.data)}</td></tr>`,
    )}</tbody></table></section>`,
  });
}
