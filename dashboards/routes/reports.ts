/** Reports (after-hours entries, denials by reason, forced and held doors) and the compliance view. */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Dash } from '../context.js';
import { localTime } from '../dates.js';
import { html } from '../html.js';
import { addRoute, DayRangeQuery } from '../http.js';
import { actorLabel, alarmLabel, doorName, fmtTime, page, reasonLabel } from '../pages/layout.js';
import { buildReport, compliance } from '../reports.js';

const RangeQuery = DayRangeQuery;

export function registerReportRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard } = dash;

  const range = (q: z.infer<typeof RangeQuery>) => {
    const today = fmtTime(dash, dash.now()).slice(0, 10);
    const from = q.from ?? `${today.slice(0, 8)}01`;
    const to = q.to ?? today;
    return {
      fromText: from,
      toText: to,
      from: localTime(dash, from, false),
      to: localTime(dash, to, true),
    };
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/reports',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary: 'After-hours entries, denials by reason, forced and held doors, one person’s history',
    query: RangeQuery,
    handler: async ({ t, lang, principal, query }) => {
      const r = range(query);
      const rep = await buildReport(dash, r.from, r.to);
      return page(
        { dash, t, lang, principal: principal },
        {
          title: t('reports_title'),
          active: 'reports',
          wide: true,
          body: html`<h1>${t('reports_title')}</h1>
<form method="GET" action="/reports" class="filters card inline-filters">
  <label>${t('from')}<input type="date" name="from" value="${r.fromText}"></label>
  <label>${t('to')}<input type="date" name="to" value="${r.toText}"></label>
  <button type="submit" class="primary">${t('filter')}</button>
</form>
<div class="report-grid">
<section class="card"><h2>${t('after_hours')} <span class="count-inline" id="after-hours-count">${rep.afterHours.length}</span></h2>
${
  rep.afterHours.length
    ? html`<table class="grid"><thead><tr><th>${t('time')}</th><th>${t('name')}</th><th>${t('id_card')}</th></tr></thead><tbody>${rep.afterHours.map(
        (e) =>
          html`<tr><td class="nowrap">${fmtTime(dash, e.at)}</td><td>${e.person ? html`<a href="/log?person=${e.person}">${e.name ?? e.person}</a>` : '—'}</td><td>${e.displayId ?? ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('denials_by_reason')}</h2>
${
  rep.denials.length
    ? html`<table class="grid" id="denials"><thead><tr><th>${t('reason')}</th><th>${t('count')}</th></tr></thead><tbody>${rep.denials.map(
        (d) =>
          html`<tr><td><a href="/log?result=denied&reason=${d.reason}&from=${r.fromText}&to=${r.toText}">${reasonLabel(t, d.reason)}</a></td><td class="num">${d.n}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('forced_held')} <span class="count-inline">${rep.doorAlarms.length}</span></h2>
${
  rep.doorAlarms.length
    ? html`<table class="grid"><thead><tr><th>${t('raised_at')}</th><th>${t('alarm')}</th><th>${t('door')}</th><th>${t('acknowledged')}</th></tr></thead><tbody>${rep.doorAlarms.map(
        (
          a,
        ) => html`<tr><td class="nowrap"><a href="/alarms/${a.id}">${fmtTime(dash, a.at)}</a></td><td>${alarmLabel(t, a.type)}</td><td>${doorName(dash, a.door)}</td>
<td>${a.ackedAt ? `${actorLabel(dash, a.ackedBy)} — ${a.ackComment ?? ''}` : html`<span class="bad">${t('unacknowledged')}</span>`}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('person_history')}</h2>
<form method="GET" action="/log" class="inline-filters">
  <input type="hidden" name="from" value="${r.fromText}"><input type="hidden" name="to" value="${r.toText}">
  <label>${t('person')}<input name="person" required placeholder="${t('person_hint')}"></label>
  <button type="submit">${t('search')}</button>
</form>
<p class="hint"><a href="/visitors">${t('unreturned')}</a> · <a href="/compliance">${t('compliance_title')}</a></p>
</section>
</div>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/reports',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary:
      'After-hours entries, denials by reason, forced and held doors in a date range (default: this month)',
    query: RangeQuery,
    handler: async ({ query }) => {
      const r = range(query);
      return buildReport(dash, r.from, r.to);
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/compliance',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary: 'The compliance view: each clause of the policy and whether Sekisho’s evidence holds',
    handler: async ({ t, lang, principal }) => {
      await dash.index.sync();
      const items = compliance(dash);
      return page(
        { dash, t, lang, principal: principal },
        {
          title: t('compliance_title'),
          active: 'compliance',
          wide: true,
          body: html`<h1>${t('compliance_title')}</h1>
<section class="card"><table class="grid compliance" id="compliance">
<thead><tr><th>${t('clause')}</th><th>${t('requirement')}</th><th>${t('status')}</th><th>${t('evidence')}</th></tr></thead>
<tbody>${items.map(
            (
              i,
            ) => html`<tr class="${i.status}" data-clause="${i.clause}"><td class="nowrap">${i.clause}</td><td>${t(i.requirement)}</td>
<td><span class="tag ${i.status === 'ok' ? 'ok' : 'warn'}">${t(i.status)}</span></td>
<td>${i.evidence.map(([k, v]) => html`<div>${t(k)}: <strong>${v}</strong></div>`)}</td></tr>`,
          )}</tbody></table></section>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/compliance',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary: 'The compliance view as data',
    handler: async () => {
      await dash.index.sync();
      return { items: compliance(dash) };
    },
  });
}
