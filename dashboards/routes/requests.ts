/**
 * Requests and approvals (§4(3)) and the visitors page built on them: a visitor badge is requested,
 * approved by someone else, then handed out (the card enrolled for the visitor) and taken back.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type PersonCategory, presenceView } from '../../controller/domain/index.js';
import { CredentialError, normaliseCredential } from '../../firmware-bridge/index.js';
import { can } from '../auth/roles.js';
import type { Dash } from '../context.js';
import { localTime } from '../dates.js';
import { html, type SafeHtml } from '../html.js';
import { ApiError, addRoute, IdParam, NumericIdParam, type Principal } from '../http.js';
import type { Translate } from '../i18n.js';
import { actorLabel, categoryLabel, doorName, fmtTime, formError, page } from '../pages/layout.js';
import {
  NewRequest,
  PAYLOADS,
  RequestKind,
  type RequestRecord,
  RequestStatus,
  requestSchema,
} from '../requests.js';

const LocalOrMillis = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DDTHH:MM'),
]);

/** What the API accepts: NewRequest, with a visitor's window also as local date-times. */
const RequestBody = requestSchema({
  ...PAYLOADS,
  visitor_badge: PAYLOADS.visitor_badge.extend({ validFrom: LocalOrMillis, validUntil: LocalOrMillis }),
});

const RequestView = z.object({
  id: z.number(),
  kind: RequestKind,
  status: RequestStatus,
  requestedBy: z.string(),
  requestedAt: z.number(),
  payload: z.record(z.string(), z.unknown()),
  reason: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  decisionNote: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
});

function summary(dash: Dash, t: Translate, r: RequestRecord): SafeHtml {
  const { registry } = dash.controller;
  const p = r.payload;
  const person = (id: unknown) => {
    const x = typeof id === 'string' ? registry.getPerson(id) : undefined;
    return x ? `${x.name} [${x.displayId}]` : String(id);
  };
  const user = (id: unknown) => {
    const u = typeof id === 'string' ? dash.users.get(id) : undefined;
    return u ? `${u.displayName} (${u.username})` : String(id);
  };
  switch (r.kind) {
    case 'access_grant':
      return html`${person(p.personId)} → ${doorName(dash, String(p.doorId))} (${String(p.scheduleId)})`;
    case 'schedule_change':
      return html`${person(p.personId)} · ${doorName(dash, String(p.doorId))}: ${String(p.fromScheduleId)} → ${String(p.toScheduleId)}`;
    case 'escort_permission':
      return html`${person(p.personId)} → ${t('may_escort')}`;
    case 'visitor_badge':
      return html`${String(p.name)}${p.organisation ? ` (${String(p.organisation)})` : ''} · ${t('host')}: ${person(p.hostPersonId)} ·
${fmtTime(dash, Number(p.validFrom))} – ${fmtTime(dash, Number(p.validUntil))} · ${String(p.purpose)}${p.equipment ? html` · ${t('equipment')}: ${String(p.equipment)}` : ''}`;
    case 'equipment':
      return html`${person(p.personId)} · ${p.direction === 'in' ? t('in') : t('out')} · ${String(p.description)} · ${t('witness')}: ${person(p.witnessPersonId)}`;
    case 'account_create':
      return html`${String(p.username)} · ${String(p.displayName)} · ${t(`role_${String(p.role)}`)}`;
    case 'role_change':
      return html`${user(p.userId)} → ${t(`role_${String(p.role)}`)}`;
  }
}

/** How many matches a person picker shows (it says so when there may be more). */
const PICKER_LIMIT = 30;

/**
 * A person picker for a request form: a search box and the list of its matches, filled by
 * GET /api/people/search as the user types (app.js). The page carries none of the registry, which
 * may hold 100,000 people; the server checks the id the form sends (RequestStore.create).
 */
function personPicker(
  t: Translate,
  o: { name: string; id: string; label: string; categories?: readonly PersonCategory[] },
): SafeHtml {
  return html`<fieldset class="person-picker" data-person-picker data-limit="${PICKER_LIMIT}"${o.categories ? html` data-category="${o.categories.join(',')}"` : ''}>
  <legend>${o.label}</legend>
  <input type="search" data-person-find maxlength="100" autocomplete="off" placeholder="${t('picker_find')}" aria-label="${o.label}: ${t('picker_find')}" aria-controls="${o.id}">
  <select name="${o.name}" id="${o.id}" required aria-label="${o.label}" data-none="${t('picker_none')}" data-found="${t('picker_found')}" data-more="${t('picker_more', { n: PICKER_LIMIT })}" data-failed="${t('picker_failed')}"><option value="">${t('picker_choose')}</option></select>
  <p class="hint" data-picker-status role="status" hidden></p>
</fieldset>`;
}

function requestRow(dash: Dash, t: Translate, principal: Principal, r: RequestRecord): SafeHtml {
  const role = principal.user.role;
  const own = r.requestedBy === principal.actor;
  const accountKind = r.kind === 'account_create' || r.kind === 'role_change';
  const mayDecide = can(role, accountKind ? 'accounts.approve' : 'requests.approve');
  let actions: SafeHtml | string = '';
  if (r.status === 'pending') {
    actions = html`${
      mayDecide
        ? html`<form class="inline" data-api="/api/requests/${r.id}/approve" data-method="POST" data-then="reload" data-approve="${r.id}">
  <input name="note" maxlength="500" placeholder="${t('decision_note')}" aria-label="${t('decision_note')}">
  <button type="submit" class="primary">${t('approve')}</button>
  <button type="button" data-api="/api/requests/${r.id}/reject" data-method="POST" data-form-body data-then="reload">${t('reject')}</button>
  ${formError}</form>`
        : ''
    }${own ? html`<p class="hint">${t('own_request')}</p><button type="button" data-api="/api/requests/${r.id}/withdraw" data-method="POST" data-then="reload">${t('withdraw')}</button>` : ''}`;
  }
  return html`<tr data-request="${r.id}" class="status-${r.status}">
<td>#${r.id}</td><td>${t(`kind_${r.kind}`)}</td><td>${summary(dash, t, r)}<div class="hint">${r.reason}</div></td>
<td>${actorLabel(dash, r.requestedBy)}<div class="hint">${fmtTime(dash, r.requestedAt)}</div></td>
<td><span class="tag st-${r.status}">${t(r.status)}</span>${r.decidedBy ? html`<div class="hint">${actorLabel(dash, r.decidedBy)} ${fmtTime(dash, r.decidedAt)}</div>` : ''}${r.decisionNote ? html`<div class="hint">${r.decisionNote}</div>` : ''}</td>
<td class="actions">${actions}</td></tr>`;
}

function requestTable(
  dash: Dash,
  t: Translate,
  principal: Principal,
  rows: RequestRecord[],
  id: string,
): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${t('none')}</p>`;
  return html`<table class="grid" id="${id}"><thead><tr><th>#</th><th>${t('request_kind')}</th><th>${t('details')}</th>
<th>${t('requested_by')}</th><th>${t('status')}</th><th></th></tr></thead><tbody>${rows.map((r) => requestRow(dash, t, principal, r))}</tbody></table>`;
}

export function registerRequestRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, requests, controller } = dash;
  const { registry, config } = controller;

  const view = (r: RequestRecord) => ({ ...r });

  addRoute(app, guard, {
    method: 'GET',
    url: '/requests',
    auth: 'requests.read',
    kind: 'page',
    tag: 'requests',
    summary: 'Pending and decided requests; approve, reject or withdraw',
    handler: ({ t, lang, principal }) => {
      const p = principal;
      const pending = requests.list({ status: 'pending', limit: 200 });
      const decided = requests.list({ limit: 100 }).filter((r) => r.status !== 'pending');
      return page(
        { dash, t, lang, principal: p },
        {
          title: t('requests_title'),
          active: 'requests',
          wide: true,
          body: html`<h1>${t('requests_title')}</h1>
<section class="card"><h2>${t('pending')} <span class="count-inline">${pending.length}</span></h2>
${requestTable(dash, t, p, pending, 'pending-requests')}</section>
${
  can(p.user.role, 'requests.create')
    ? html`<section class="card"><h2>${t('new_request')}</h2>
<details><summary>${t('kind_access_grant')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="reload" class="grid-form" id="new-access-request">
  <input type="hidden" name="kind" value="access_grant">
  ${personPicker(t, { name: 'payload.personId', id: 'access-person', label: t('person'), categories: ['staff', 'contractor'] })}
  <label>${t('door')}<select name="payload.doorId">${config.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('schedule')}<select name="payload.scheduleId"><option value="always">always</option>${config.schedules.map((s) => html`<option value="${s.id}">${s.name ?? s.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></details>
<details><summary>${t('kind_equipment')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="reload" class="grid-form" id="new-equipment-request">
  <input type="hidden" name="kind" value="equipment">
  ${personPicker(t, { name: 'payload.personId', id: 'equipment-person', label: t('person') })}
  <label>${t('direction')}<select name="payload.direction"><option value="in">${t('in')}</option><option value="out">${t('out')}</option></select></label>
  <label>${t('door')}<select name="payload.doorId">${config.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  ${personPicker(t, { name: 'payload.witnessPersonId', id: 'equipment-witness', label: t('witness'), categories: ['staff'] })}
  <label class="wide">${t('equipment')}<input name="payload.description" required maxlength="500"></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></details>
<p class="hint"><a href="/visitors">${t('issue_visitor')}</a> · <a href="/users">${t('request_account')}</a></p>
</section>`
    : ''
}
<section class="card"><h2>${t('approved')} / ${t('rejected')} / ${t('cancelled')}</h2>
${requestTable(dash, t, p, decided, 'decided-requests')}</section>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/requests',
    auth: 'requests.read',
    kind: 'json',
    tag: 'requests',
    summary: 'Requests, newest first; page with `before` = the last id',
    query: z.strictObject({
      status: RequestStatus.optional(),
      kind: RequestKind.optional(),
      before: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: z.object({ requests: z.array(RequestView) }),
    handler: ({ query }) => ({
      requests: requests
        .list({
          ...(query.status ? { status: query.status } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          ...(query.before ? { beforeId: query.before } : {}),
          limit: query.limit,
        })
        .map(view),
    }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/requests/:id',
    auth: 'requests.read',
    kind: 'json',
    tag: 'requests',
    summary: 'One request',
    params: NumericIdParam,
    response: RequestView,
    handler: ({ params }) => {
      const r = requests.get(params.id);
      if (!r) throw new ApiError(404, 'not_found', `no request ${params.id}`);
      return view(r);
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests',
    auth: 'requests.create',
    kind: 'json',
    tag: 'requests',
    summary:
      'File a request: access_grant, schedule_change, escort_permission, visitor_badge (times as UTC ms or local ' +
      'YYYY-MM-DDTHH:MM), equipment, account_create, role_change. It takes effect only when a different user approves it.',
    body: RequestBody,
    response: RequestView,
    handler: ({ body, principal }) => {
      let input: unknown = body;
      if (body.kind === 'visitor_badge') {
        const p = body.payload;
        input = {
          ...body,
          payload: {
            ...p,
            validFrom: typeof p.validFrom === 'number' ? p.validFrom : localTime(dash, p.validFrom, false),
            validUntil: typeof p.validUntil === 'number' ? p.validUntil : localTime(dash, p.validUntil, true),
          },
        };
      }
      const parsed = NewRequest.safeParse(input);
      if (!parsed.success) throw new ApiError(400, 'invalid_request', parsed.error.issues[0]!.message);
      const r = requests.create(parsed.data, principal, dash.now());
      dash.hub.notify();
      return view(r);
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/approve',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'requests',
    summary:
      'Approve and carry out a request. 403 `self_approval_refused` (journaled) if you filed it or it concerns your own account. ' +
      'For a new account the answer carries its initial password, shown this once.',
    params: NumericIdParam,
    body: z.strictObject({ note: z.string().trim().max(500).default('') }),
    handler: async ({ params, body, principal }) => {
      const r = await requests.approve(params.id, principal, body.note, () => dash.now());
      dash.hub.notify();
      return { ...view(r.request), ...(r.initialPassword ? { initialPassword: r.initialPassword } : {}) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/reject',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'requests',
    summary: 'Reject a request filed by someone else',
    params: NumericIdParam,
    body: z.strictObject({ note: z.string().trim().max(500).default('') }),
    response: RequestView,
    handler: ({ params, body, principal }) =>
      view(requests.reject(params.id, principal, body.note, dash.now())),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/withdraw',
    auth: 'requests.create',
    kind: 'json',
    tag: 'requests',
    summary: 'Withdraw one’s own pending request',
    params: NumericIdParam,
    response: RequestView,
    handler: ({ params, principal }) => view(requests.withdraw(params.id, principal, dash.now())),
  });

  // ---------------------------------------------------------------------------------------------
  // Visitors

  const visitorState = () => {
    const now = dash.now();
    const approved = requests.list({ kind: 'visitor_badge', status: 'approved', limit: 200 });
    const awaiting = approved.filter((r) => typeof r.result?.badgeId !== 'string');
    const presence = new Map(
      controller.config.doors.flatMap((d) =>
        presenceView(controller.derived, d.id).map((p) => [p.personId, p] as const),
      ),
    );
    const unreturned = registry.listUnreturnedVisitorBadges().map((vb) => ({
      ...vb,
      name: registry.getPerson(vb.personId)?.name ?? vb.personId,
      displayId: registry.getPerson(vb.personId)?.displayId ?? '',
      hostName: registry.getPerson(vb.hostId)?.name ?? vb.hostId,
      overdue: vb.validUntil !== null && vb.validUntil <= now,
      inside: presence.has(vb.personId),
      escorted: presence.get(vb.personId)?.escorted ?? null,
    }));
    return { awaiting, unreturned };
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/visitors',
    auth: 'people.read',
    kind: 'page',
    tag: 'visitors',
    summary: 'Visitors: request a badge, hand it out after approval, take it back; the unreturned',
    handler: ({ t, lang, principal }) => {
      const p = principal;
      const role = p.user.role;
      const { awaiting, unreturned } = visitorState();
      const today = fmtTime(dash, dash.now()).slice(0, 10);
      return page(
        { dash, t, lang, principal: p },
        {
          title: t('visitors_title'),
          active: 'visitors',
          wide: true,
          body: html`<h1>${t('visitors_title')}</h1>
<section class="card"><h2>${t('unreturned')} <span class="count-inline">${unreturned.length}</span></h2>
${
  unreturned.length
    ? html`<table class="grid" id="unreturned"><thead><tr><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('badge')}</th><th>${t('host')}</th><th>${t('purpose')}</th>
<th>${t('equipment')}</th><th>${t('visit_window')}</th><th>${t('status')}</th><th></th></tr></thead>
<tbody>${unreturned.map(
        (
          v,
        ) => html`<tr data-visitor="${v.personId}" data-badge="${v.badgeId}" class="${v.overdue ? 'overdue' : ''}"><td><a href="/people/${v.personId}">${v.name}</a></td><td>${v.displayId}</td>
<td class="mono">${v.masked}</td><td>${v.hostName}</td><td>${v.purpose}</td><td>${v.equipment.join(', ')}</td>
<td class="nowrap">${fmtTime(dash, v.validFrom)}<br>– ${fmtTime(dash, v.validUntil)}</td>
<td>${t(`vb_${v.status}`)}${v.inside ? html` <span class="tag ${v.escorted === false ? 'bad' : 'warn'}">${t('who_inside')}${v.escorted === false ? ` · ${t('unescorted')}` : ''}</span>` : ''}${v.overdue ? html` <span class="tag bad">${t('expired')}</span>` : ''}</td>
<td class="actions">${can(role, 'visitors.handle') ? html`<button type="button" data-api="/api/visitors/${v.badgeId}/return" data-method="POST" data-then="reload">${t('return_badge')}</button>` : ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('awaiting_issue')}</h2>
${
  awaiting.length
    ? html`<table class="grid" id="awaiting"><thead><tr><th>#</th><th>${t('details')}</th><th></th></tr></thead><tbody>${awaiting.map(
        (r) =>
          html`<tr data-request="${r.id}"><td>#${r.id}</td><td>${summary(dash, t, r)}</td><td>${
            can(role, 'visitors.handle')
              ? html`<form class="inline" data-api="/api/requests/${r.id}/issue-badge" data-method="POST" data-then="reload">
  <input name="number" required maxlength="40" placeholder="${t('badge_number')}" aria-label="${t('badge_number')}" autocomplete="off">
  <button type="submit">${t('hand_out_badge')}</button>${formError}</form>`
              : ''
          }</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
${
  can(role, 'requests.create')
    ? html`<section class="card"><h2>${t('issue_visitor')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="visitor-request">
  <input type="hidden" name="kind" value="visitor_badge">
  <label>${t('name')}<input name="payload.name" required maxlength="100"></label>
  <label>${t('organisation')}<input name="payload.organisation" maxlength="100"></label>
  <label>${t('visitor_pass_id')}<input name="payload.displayId" maxlength="64"></label>
  ${personPicker(t, { name: 'payload.hostPersonId', id: 'visitor-host', label: t('host'), categories: ['staff'] })}
  <label>${t('door')}<select name="payload.doorId">${config.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('valid_from')}<input type="datetime-local" name="payload.validFrom" required value="${today}T09:00"></label>
  <label>${t('valid_until')}<input type="datetime-local" name="payload.validUntil" required value="${today}T18:00"></label>
  <label class="wide">${t('purpose')}<input name="payload.purpose" required maxlength="200"></label>
  <label class="wide">${t('equipment')} <small>${t('equipment_hint')}</small><textarea name="payload.equipment" maxlength="1000" rows="2"></textarea></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('issue_visitor')}</button></form></section>`
    : ''
}
<p class="hint">${categoryLabel(t, 'visitor')}: §7(1)②エ</p>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/visitors',
    auth: 'people.read',
    kind: 'json',
    tag: 'visitors',
    summary: 'Approved visitor badges not yet handed out, and visitor badges not returned',
    handler: () => {
      const { awaiting, unreturned } = visitorState();
      return { awaiting: awaiting.map(view), unreturned };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/issue-badge',
    auth: 'visitors.handle',
    kind: 'json',
    tag: 'visitors',
    summary: 'Hand out the card of an approved visitor-badge request (enrols it for the visitor’s window)',
    params: NumericIdParam,
    body: z.strictObject({ number: z.string().trim().min(1).max(40) }),
    handler: ({ params, body, principal }) => {
      let credential: string;
      try {
        credential = normaliseCredential('auto', body.number);
      } catch (err) {
        if (err instanceof CredentialError) throw new ApiError(400, 'invalid_credential', err.message);
        throw err;
      }
      return requests.issueVisitorBadge(params.id, credential, principal, dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/visitors/:id/return',
    auth: 'visitors.handle',
    kind: 'json',
    tag: 'visitors',
    summary:
      'A visitor card came back (`id` = its badge id): revoked at once; who took it and when are recorded',
    params: IdParam,
    body: z.strictObject({ note: z.string().trim().max(500).optional() }),
    handler: ({ params, body, principal }) => {
      const vb = registry.returnVisitorBadge(params.id, principal.actor, dash.now(), body.note);
      dash.hub.notify();
      return vb;
    },
  });
}
