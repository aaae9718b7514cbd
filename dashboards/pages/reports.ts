/** The reports page (after-hours entries, denials by reason, forced and held doors) and the compliance view. */
import { html, type SafeHtml } from '../html.js';
import type { ComplianceItem, Report } from '../reports.js';
import { alarmSentence } from '../sentences.js';
import {
  actorLabel,
  alarmLabel,
  doorName,
  fmtTime,
  may,
  namesOf,
  page,
  reasonLabel,
  type Shell,
} from './layout.js';

export interface ReportsView {
  /** The range as the form shows it (`YYYY-MM-DD`, `to` inclusive). */
  fromText: string;
  toText: string;
  report: Report;
  /** When the page was made (the printed copy says so). */
  now: number;
}

export function reportsPage(v: Shell, { fromText, toText, report: rep, now }: ReportsView): SafeHtml {
  const { t } = v;
  const r = { fromText, toText };
  const csvLink = (table: string, id: string) =>
    may(v, 'log.export')
      ? html`<p class="no-print"><a class="button" id="${id}" href="/api/reports.csv?table=${table}&from=${r.fromText}&to=${r.toText}" download>${t('export_csv')}</a></p>`
      : '';
  return page(v, {
    title: t('reports_title'),
    active: 'reports',
    wide: true,
    body: html`<h1>${t('reports_title')}</h1>
<form method="GET" action="/reports" class="filters card inline-filters">
  <label>${t('from')}<input type="date" name="from" value="${r.fromText}"></label>
  <label>${t('to')}<input type="date" name="to" value="${r.toText}"></label>
  <button type="submit" class="primary">${t('filter')}</button>
  <button type="button" data-print id="reports-print">${t('print_button')}</button>
</form>
<p class="print-only meta">${v.siteName} · ${r.fromText} – ${r.toText} · ${t('printed_at', { time: fmtTime(v, now), by: actorLabel(v, v.actor) })}</p>
<div class="report-grid">
<section class="card" id="after-hours"><h2>${t('after_hours')} <span class="count-inline" id="after-hours-count">${rep.afterHours.length}</span></h2>
${rep.afterHoursTruncated ? html`<p class="notice warn">${t('after_hours_truncated', { n: rep.afterHours.length })}</p>` : ''}
${
  rep.afterHoursByPerson.length
    ? html`<table class="grid" id="after-hours-people"><thead><tr><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('after_hours_entries')}</th><th>${t('after_hours_times')}</th></tr></thead><tbody>${rep.afterHoursByPerson.map(
        (p) =>
          html`<tr data-person="${p.person ?? ''}"><td>${p.person ? html`<a href="/log?person=${p.person}&from=${r.fromText}&to=${r.toText}">${p.name ?? t('unknown_person')}</a>` : t('unknown_person')}</td><td>${p.displayId ?? ''}</td><td class="num">${p.count}</td>
<td><details class="times"><summary>${t('after_hours_show')}</summary><ul class="plain">${p.entries.map((e) => html`<li class="nowrap">${fmtTime(v, e.at)}</li>`)}</ul></details></td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${csvLink('after-hours', 'reports-csv')}</section>
<section class="card"><h2>${t('denials_by_reason')}</h2>
${
  rep.denials.length
    ? html`<table class="grid" id="denials"><thead><tr><th>${t('reason')}</th><th>${t('count')}</th></tr></thead><tbody>${rep.denials.map(
        (d) =>
          html`<tr><td><a href="/log?result=denied&reason=${d.reason}&from=${r.fromText}&to=${r.toText}">${reasonLabel(t, d.reason)}</a></td><td class="num">${d.n}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${csvLink('denials', 'denials-csv')}</section>
<section class="card"><h2>${t('forced_held')} <span class="count-inline">${rep.doorAlarms.length}</span></h2>
${
  rep.doorAlarms.length
    ? html`<table class="grid"><thead><tr><th>${t('raised_at')}</th><th>${t('alarm')}</th><th>${t('door')}</th><th>${t('acknowledged')}</th></tr></thead><tbody>${rep.doorAlarms.map(
        (
          a,
        ) => html`<tr><td class="nowrap"><a href="/alarms/${a.id}">${fmtTime(v, a.at)}</a></td><td>${alarmLabel(t, a.type)}<div class="small">${alarmSentence(a, namesOf(v), v.lang)}</div></td><td>${doorName(v, a.door)}</td>
<td>${a.ackedAt ? `${actorLabel(v, a.ackedBy)} — ${a.ackComment ?? ''}` : html`<span class="bad">${t('unacknowledged')}</span>`}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${csvLink('door-alarms', 'door-alarms-csv')}</section>
<section class="card"><h2>${t('person_history')}</h2>
<form method="GET" action="/log" class="inline-filters">
  <input type="hidden" name="from" value="${r.fromText}"><input type="hidden" name="to" value="${r.toText}">
  <label>${t('person')}<input name="person" required placeholder="${t('person_hint')}"></label>
  <button type="submit">${t('search')}</button>
</form>
<p class="hint"><a href="/visitors">${t('unreturned')}</a> · <a href="/compliance">${t('compliance_title')}</a></p>
</section>
</div>`,
  });
}

export function compliancePage(
  v: Shell,
  items: readonly ComplianceItem[],
  /** More sections under the clauses (each door's commissioning). */
  sections: readonly SafeHtml[] = [],
): SafeHtml {
  const { t } = v;
  return page(v, {
    title: t('compliance_title'),
    active: 'compliance',
    wide: true,
    body: html`<h1>${t('compliance_title')}</h1>
<p class="no-print buttons-row"><a class="button" id="compliance-csv" href="/api/compliance.csv" download>${t('export_csv')}</a>
<button type="button" data-print id="compliance-print">${t('print_button')}</button></p>
<section class="card"><table class="grid compliance" id="compliance">
<thead><tr><th>${t('clause')}</th><th>${t('requirement')}</th><th>${t('status')}</th><th>${t('evidence')}</th></tr></thead>
<tbody>${items.map(
      (
        i,
      ) => html`<tr class="${i.status}" data-clause="${i.clause}"><td class="nowrap">${i.clause}</td><td>${t(i.requirement)}</td>
<td><span class="tag ${i.status === 'ok' ? 'ok' : 'warn'}">${t(i.status)}</span></td>
<td>${i.evidence.map(([k, val]) => html`<div>${t(k)}: <strong>${val}</strong></div>`)}${
        i.link ? html`<div><a href="${i.link.href}">${t(i.link.label)}</a></div>` : ''
      }${i.basis ? html`<p class="hint basis">${t(i.basis)}</p>` : ''}</td></tr>`,
    )}</tbody></table></section>
${sections}`,
  });
}
