/**
 * Alarms (POLICY §7(1)①イ, §4(2)②③): latched until acknowledged; an acknowledgement needs a
 * comment and records who and when; the history, and for each alarm the journal rows around it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AlarmType, RecordSchemas, VisitRecordSchemas } from '../../controller/domain/index.js';
import type { Dash } from '../context.js';
import { parseTimeCursor, timeCursor } from '../cursor.js';
import { html } from '../html.js';
import { ApiError, addRoute, NumericIdParam } from '../http.js';
import { AlarmEntry } from '../logindex.js';
import { activeAlarmItem, actorLabel, alarmLabel, doorName, fmtTime, page } from '../pages/layout.js';

const HistoryQuery = z.strictObject({
  type: z.string().max(64).optional(),
  cursor: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Door, access and alarm records — never accounts, logins or requests — may appear beside an alarm. */
const CONTEXT_TYPES = [...Object.keys(RecordSchemas), ...Object.keys(VisitRecordSchemas)];

/**
 * Journal rows within two minutes of the alarm, on its door (§4(2)③: investigate cause and scope).
 * Only the controller's own record types: an alarm without a door must not show an operator the
 * account and login rows of the same minutes.
 */
function context(dash: Dash, at: number, door: string | null) {
  return dash.controller.journal
    .query({
      from: at - 120_000,
      to: at + 120_001,
      ...(door ? { door } : {}),
      types: CONTEXT_TYPES,
      limit: 40,
    })
    .map((r) => ({
      seq: r.seq,
      at: r.at,
      type: r.type,
      door: r.door,
      person: r.person,
      actor: r.actor,
      data: r.data,
    }));
}

export function registerAlarmRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller, index } = dash;

  const history = async (q: z.infer<typeof HistoryQuery>) => {
    await index.sync();
    const before = q.cursor ? parseTimeCursor(q.cursor) : undefined;
    const rows = index.alarms({
      ...(q.type ? { types: [q.type] } : {}),
      ...(before ? { before } : {}),
      limit: q.limit,
    });
    const last = rows.at(-1);
    return { rows, next: rows.length === q.limit && last ? timeCursor(last.at, last.id) : null };
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/alarms',
    auth: 'alarms.read',
    kind: 'page',
    tag: 'alarms',
    summary: 'Active alarms (acknowledge with a comment) and the history',
    query: HistoryQuery,
    handler: async ({ t, lang, principal, query }) => {
      const role = principal.user.role;
      const active = controller.activeAlarms();
      const { rows, next } = await history(query);
      return page(
        { dash, t, lang, principal: principal },
        {
          title: t('alarms_title'),
          active: 'alarms',
          wide: true,
          body: html`<h1>${t('alarms_title')}</h1>
<section class="card">
<h2>${t('active_alarms')}</h2>
${
  active.length
    ? html`<ul class="alarms" id="active-alarms">${active.map((a) => activeAlarmItem(dash, t, role, a, { link: true }))}</ul>`
    : html`<p class="empty">${t('no_active_alarms')}</p>`
}
</section>
<section class="card">
<h2>${t('alarm_history')}</h2>
<form method="GET" action="/alarms" class="filters inline-filters">
  <label>${t('alarm')}<select name="type"><option value="">${t('all')}</option>${AlarmType.options.map(
    (x) => html`<option value="${x}"${query.type === x ? html` selected` : ''}>${alarmLabel(t, x)}</option>`,
  )}</select></label>
  <button type="submit">${t('filter')}</button>
</form>
${
  rows.length
    ? html`<table class="grid" id="alarm-history"><thead><tr><th>${t('raised_at')}</th><th>${t('alarm')}</th><th>${t('severity')}</th><th>${t('door')}</th>
<th>${t('condition')}</th><th>${t('acknowledged')}</th><th>${t('comment')}</th></tr></thead><tbody>${rows.map(
        (
          a,
        ) => html`<tr data-alarm="${a.id}"><td class="nowrap"><a href="/alarms/${a.id}">${fmtTime(dash, a.at)}</a></td>
<td>${alarmLabel(t, a.type)}</td><td><span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></td><td>${doorName(dash, a.door)}</td>
<td>${a.clearedAt ? `${t('condition_cleared')} ${fmtTime(dash, a.clearedAt)}` : t('condition_active')}</td>
<td>${a.ackedAt ? t('ack_by', { by: actorLabel(dash, a.ackedBy), time: fmtTime(dash, a.ackedAt) }) : html`<span class="bad">${t('unacknowledged')}</span>`}</td>
<td>${a.ackComment ?? ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('no_rows')}</p>`
}
${next ? html`<p class="pager"><a href="/alarms?${query.type ? `type=${encodeURIComponent(query.type)}&` : ''}cursor=${next}">${t('next_page')}</a></p>` : ''}
</section>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/alarms/:id',
    auth: 'alarms.read',
    kind: 'page',
    tag: 'alarms',
    summary: 'One alarm and the journal rows around it',
    params: NumericIdParam,
    handler: async ({ t, lang, principal, params }) => {
      await index.sync();
      const a = index.alarm(params.id);
      if (!a) throw new ApiError(404, 'not_found', `no alarm ${params.id}`);
      const rows = context(dash, a.at, a.door);
      return page(
        { dash, t, lang, principal: principal },
        {
          title: alarmLabel(t, a.type),
          active: 'alarms',
          wide: true,
          body: html`<h1>${alarmLabel(t, a.type)} <span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></h1>
<section class="card"><dl class="facts">
<dt>${t('raised_at')}</dt><dd>${fmtTime(dash, a.at)}</dd><dt>${t('door')}</dt><dd>${doorName(dash, a.door)}</dd>
<dt>${t('details')}</dt><dd>${a.detail}</dd>
<dt>${t('condition')}</dt><dd>${a.clearedAt ? `${t('condition_cleared')} ${fmtTime(dash, a.clearedAt)}` : t('condition_active')}</dd>
<dt>${t('acknowledged')}</dt><dd>${a.ackedAt ? `${t('ack_by', { by: actorLabel(dash, a.ackedBy), time: fmtTime(dash, a.ackedAt) })} — ${a.ackComment ?? ''}` : t('unacknowledged')}</dd>
</dl></section>
<section class="card"><h2>${t('alarm_context')}</h2>
<table class="grid"><thead><tr><th>seq</th><th>${t('time')}</th><th>type</th><th>${t('actor')}</th><th>${t('details')}</th></tr></thead>
<tbody>${rows.map(
            (
              r,
            ) => html`<tr class="${r.seq === a.id ? 'highlight' : ''}"><td>${r.seq}</td><td class="nowrap">${fmtTime(dash, r.at)}</td><td>${r.type}</td>
<td>${actorLabel(dash, r.actor)}</td><td class="mono small">${JSON.stringify(r.data)}</td></tr>`,
          )}</tbody></table></section>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'The active (latched) alarms',
    handler: () => ({ alarms: controller.activeAlarms() }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms/history',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'Every alarm raised, newest first, with who acknowledged it, when and why',
    query: HistoryQuery,
    response: z.object({ rows: z.array(AlarmEntry), next: z.string().nullable() }),
    handler: ({ query }) => history(query),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms/:id',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'One alarm, and the journal rows within two minutes of it on its door',
    params: NumericIdParam,
    handler: async ({ params }) => {
      await index.sync();
      const a = index.alarm(params.id);
      if (!a) throw new ApiError(404, 'not_found', `no alarm ${params.id}`);
      return { alarm: a, context: context(dash, a.at, a.door) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/alarms/:id/ack',
    auth: 'alarms.ack',
    kind: 'json',
    tag: 'alarms',
    summary: 'Acknowledge an alarm with a comment; the journal records who and when',
    params: NumericIdParam,
    body: z.strictObject({ comment: z.string().trim().min(1).max(500) }),
    handler: ({ params, body, principal }) => {
      const active = controller.activeAlarms().find((a) => a.id === params.id);
      if (!active) throw new ApiError(404, 'not_found', `no active alarm ${params.id}`);
      if (active.acknowledged)
        throw new ApiError(409, 'conflict', `alarm ${params.id} is already acknowledged`);
      if (!controller.acknowledgeAlarm(params.id, principal.actor, body.comment))
        throw new ApiError(503, 'storage_unavailable', 'the acknowledgement could not be recorded');
      return { alarm: controller.activeAlarms().find((a) => a.id === params.id) ?? null, acknowledged: true };
    },
  });
}
