/**
 * People and badges: add and edit people; enrol badges (the number is normalised, then stored only
 * as a keyed hash and a masked suffix); **lost badge** disables a badge at once with no approval
 * (§6(1)⑧); revoke; withdraw door access at once. Granting access is a request (requests.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Badge, type Person, PersonCategory } from '../../controller/domain/index.js';
import { MAX_PEOPLE_PAGE, type PeopleFilter, withoutMask } from '../../controller/journal/registry.js';
import { CredentialError, normaliseCredential } from '../../firmware-bridge/index.js';
import { can } from '../auth/roles.js';
import type { Dash } from '../context.js';
import { decodePeopleCursor, encodePeopleCursor } from '../cursor.js';
import { localTime } from '../dates.js';
import { html, type SafeHtml } from '../html.js';
import { ApiError, addRoute, IdParam } from '../http.js';
import type { Translate } from '../i18n.js';
import { categoryLabel, fmtDate, formError, page } from '../pages/layout.js';
import { EnrolFormat, EnrolledCategory } from '../vocabulary.js';

const CATEGORY = `(?:${PersonCategory.options.join('|')})`;
const CATEGORY_LIST = new RegExp(`^${CATEGORY}(?:,${CATEGORY}){0,${PersonCategory.options.length - 1}}$`);

const LocalDate = z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DD');

const PersonBody = z.strictObject({
  displayId: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200),
  category: EnrolledCategory,
  /** Local date (or date and time) in the site's zone. */
  validFrom: LocalDate.nullable().optional(),
  /** Inclusive local date: valid through the end of that day. */
  validUntil: LocalDate.nullable().optional(),
  lockdownOverride: z.boolean().optional(),
});

const PersonPatch = z.strictObject({
  displayId: z.string().trim().min(1).max(200).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  validFrom: LocalDate.nullable().optional(),
  validUntil: LocalDate.nullable().optional(),
  active: z.boolean().optional(),
  lockdownOverride: z.boolean().optional(),
});

const PersonView = z.object({
  id: z.string(),
  displayId: z.string(),
  name: z.string(),
  category: z.string(),
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
  active: z.boolean(),
  lockdownOverride: z.boolean(),
  mayEscort: z.boolean(),
  expired: z.boolean(),
  badges: z.array(
    z.object({
      id: z.string(),
      masked: z.string(),
      status: z.string(),
      validFrom: z.number().nullable(),
      validUntil: z.number().nullable(),
      expired: z.boolean(),
    }),
  ),
  permissions: z.array(z.object({ doorId: z.string(), scheduleId: z.string() })),
});

function badgeView(b: Badge, now: number) {
  return {
    id: b.id,
    masked: b.masked,
    status: b.status,
    validFrom: b.validFrom,
    validUntil: b.validUntil,
    expired: b.validUntil !== null && b.validUntil <= now,
  };
}

/** One person with their badges, door access and escort permission. */
function personView(dash: Dash, p: Person) {
  return peopleViews(dash, [p])[0]!;
}

/** People with their badges, door access and escort permission: three queries, whatever their number. */
function peopleViews(dash: Dash, people: Person[]) {
  const { registry } = dash.controller;
  const ids = people.map((p) => p.id);
  const badges = registry.badgesOf(ids);
  const permissions = registry.permissionsOf(ids);
  const escorts = registry.escortsAmong(ids);
  const now = dash.now();
  return people.map((p) => ({
    ...p,
    mayEscort: escorts.has(p.id),
    expired: p.validUntil !== null && p.validUntil <= now,
    badges: (badges.get(p.id) ?? []).map((b) => badgeView(b, now)),
    permissions: (permissions.get(p.id) ?? []).map((x) => ({ doorId: x.doorId, scheduleId: x.scheduleId })),
  }));
}

// -------------------------------------------------------------------------------------------------
// The people list: a page at a time (keyset on name, id), filtered in SQL, never the whole registry.

export const PEOPLE_PAGE_DEFAULT = 100;

/** A badge as someone types it to find its holder: its id, or the last 4 of its number (`••••` allowed). */
const BadgeNeedle = z
  .string()
  .trim()
  .max(64)
  .transform(withoutMask)
  .refine(
    (v) => /^b_[0-9A-Za-z]{1,62}$/.test(v) || Array.from(v).length === 4,
    'expected a badge id (b_…) or the last 4 characters of its number',
  );

export const PeopleListQuery = z.strictObject({
  /** Part of the name or ID card. */
  q: z.string().trim().max(100).optional(),
  badge: BadgeNeedle.optional(),
  category: PersonCategory.optional(),
  /** `1` active only, `0` inactive only; absent: both. */
  active: z.enum(['1', '0']).optional(),
  cursor: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9_-]+$/, 'expected the `next` or `prev` of a previous answer')
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PEOPLE_PAGE).default(PEOPLE_PAGE_DEFAULT),
});
export type PeopleListQuery = z.infer<typeof PeopleListQuery>;

function peopleFilter(dash: Dash, q: PeopleListQuery): PeopleFilter {
  const f: PeopleFilter = {};
  if (q.q) f.text = q.q;
  if (q.category) f.categories = [q.category];
  if (q.active) f.active = q.active === '1';
  if (q.badge !== undefined) {
    const badges = dash.controller.registry.findTypedBadges(q.badge, 50);
    f.ids = [...new Set(badges.map((b) => b.personId))];
  }
  return f;
}

export interface PeopleListPage {
  people: ReturnType<typeof peopleViews>;
  /** How many people match the filter. */
  total: number;
  /** The position of the first row among them (0-based; counted along the pages). */
  offset: number;
  limit: number;
  next: string | null;
  prev: string | null;
}

/** One page of the people list: the page's people, the filter's count, the cursors either way. */
export function peoplePage(dash: Dash, q: PeopleListQuery): PeopleListPage {
  const { registry } = dash.controller;
  const filter = peopleFilter(dash, q);
  const cursor = q.cursor === undefined ? undefined : decodePeopleCursor(q.cursor);
  const key = cursor ? { name: cursor.n, id: cursor.i } : undefined;
  const backwards = cursor?.d === 'b';
  const { people, more } = registry.pagePeople({
    ...filter,
    limit: q.limit,
    ...(key ? (backwards ? { before: key } : { after: key }) : {}),
  });
  const total = registry.countPeople(filter);
  // Positions are counted along the pages (a key's rank would cost a count of the rows before it).
  let offset: number;
  if (!cursor) offset = 0;
  else if (backwards) offset = more ? Math.max(0, cursor.o - people.length) : 0;
  else offset = cursor.o + 1;
  const first = people[0];
  const last = people.at(-1);
  const next =
    last && (backwards || more)
      ? encodePeopleCursor({ d: 'a', n: last.name, i: last.id, o: offset + people.length - 1 })
      : null;
  const prev =
    first && (backwards ? more : cursor !== undefined && offset > 0)
      ? encodePeopleCursor({ d: 'b', n: first.name, i: first.id, o: offset })
      : null;
  return { people: peopleViews(dash, people), total, offset, limit: q.limit, next, prev };
}

function peopleQueryString(q: PeopleListQuery, cursor?: string): string {
  const qs = new URLSearchParams();
  for (const k of ['q', 'badge', 'category', 'active'] as const) if (q[k]) qs.set(k, q[k]);
  if (q.limit !== PEOPLE_PAGE_DEFAULT) qs.set('limit', String(q.limit));
  if (cursor) qs.set('cursor', cursor);
  const s = qs.toString();
  return s ? `?${s}` : '';
}

const numberFormat = new Intl.NumberFormat('en-US');
const fmtCount = (n: number) => numberFormat.format(n);

function peopleFilterForm(t: Translate, q: PeopleListQuery): SafeHtml {
  const sel = (v: string | undefined, x: string) => (v === x ? html` selected` : '');
  return html`<form class="filters card" method="GET" action="/people" id="people-filters" role="search">
  <label>${t('person')}<input type="search" name="q" value="${q.q ?? ''}" maxlength="100" placeholder="${t('person_hint')}"></label>
  <label>${t('badge')}<input name="badge" value="${q.badge ?? ''}" maxlength="64" autocomplete="off" placeholder="${t('people_badge_hint')}" pattern="[•*]*[^•*]{4}|b_[0-9A-Za-z]{1,62}" title="${t('people_badge_hint')}"></label>
  <label>${t('category')}<select name="category"><option value="">${t('all')}</option>${PersonCategory.options.map(
    (c) => html`<option value="${c}"${sel(q.category, c)}>${t(`cat_${c}`)}</option>`,
  )}</select></label>
  <label>${t('status')}<select name="active"><option value="">${t('all')}</option>
    <option value="1"${sel(q.active, '1')}>${t('active')}</option><option value="0"${sel(q.active, '0')}>${t('inactive')}</option></select></label>
  ${q.limit !== PEOPLE_PAGE_DEFAULT ? html`<input type="hidden" name="limit" value="${q.limit}">` : ''}
  <div class="buttons">
    <button type="submit" class="primary">${t('filter')}</button>
    <a class="button" href="/people">${t('clear')}</a>
  </div>
</form>`;
}

function scheduleName(dash: Dash, id: string): string {
  if (id === 'always') return 'always';
  return dash.controller.config.schedules.find((s) => s.id === id)?.name ?? id;
}

function statusTag(t: Translate, b: ReturnType<typeof badgeView>): SafeHtml {
  const cls = b.status === 'active' && !b.expired ? 'ok' : 'bad';
  return html`<span class="tag ${cls}">${t(`badge_status_${b.status}`)}${b.expired ? ` · ${t('expired')}` : ''}</span>`;
}

export function registerPeopleRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller } = dash;
  const { registry, config } = controller;

  const requirePerson = (id: string) => {
    const p = registry.getPerson(id);
    if (!p) throw new ApiError(404, 'not_found', `no person ${id}`);
    return p;
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/people',
    auth: 'people.read',
    kind: 'page',
    tag: 'people',
    summary:
      'People with their badges and door access, a page at a time (by name), filtered by name or ID, badge, ' +
      'category and status',
    query: PeopleListQuery,
    handler: ({ t, lang, principal, query }) => {
      const role = principal.user.role;
      const list = peoplePage(dash, query);
      const { people } = list;
      const active = registry.countActivePeople();
      const filtered = !!(query.q || query.badge || query.category || query.active);
      const pager = html`<p class="pager" id="people-pager">
<span>${query.cursor ? html`<a href="/people${peopleQueryString(query)}" id="people-first">${t('people_first_page')}</a>` : ''}
${list.prev ? html`<a href="/people${peopleQueryString(query, list.prev)}" id="people-prev" rel="prev">${t('people_prev_page')}</a>` : ''}</span>
${list.next ? html`<a href="/people${peopleQueryString(query, list.next)}" id="people-next" rel="next">${t('people_next_page')}</a>` : ''}</p>`;
      return page(
        { dash, t, lang, principal: principal },
        {
          title: t('people_title'),
          active: 'people',
          wide: true,
          body: html`<h1>${t('people_title')}</h1>
<p class="meta" id="people-counts">${t('people_active_counts', {
            staff: fmtCount(active.staff ?? 0),
            contractor: fmtCount(active.contractor ?? 0),
            visitor: fmtCount(active.visitor ?? 0),
          })}</p>
${peopleFilterForm(t, query)}
<section class="card">
<p class="meta" id="people-range">${
            people.length
              ? t(filtered ? 'people_range_filtered' : 'people_range', {
                  from: fmtCount(list.offset + 1),
                  to: fmtCount(list.offset + people.length),
                  total: fmtCount(list.total),
                })
              : ''
          }</p>
${
  people.length
    ? html`<table class="grid" id="people-table"><thead><tr><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('category')}</th><th>${t('status')}</th>
<th>${t('valid_until')}</th><th>${t('badges')}</th><th>${t('permissions')}</th></tr></thead>
<tbody>${people.map(
        (p) => html`<tr data-person="${p.id}" class="${p.active && !p.expired ? '' : 'muted'}">
<td><a href="/people/${p.id}">${p.name}</a></td><td>${p.displayId}</td><td><span class="tag cat-${p.category}">${categoryLabel(t, p.category)}</span></td>
<td>${p.active ? (p.expired ? html`<span class="tag bad">${t('expired')}</span>` : t('active')) : t('inactive')}</td>
<td>${p.validUntil === null ? t('open_ended') : fmtDate(dash, p.validUntil - 1)}</td>
<td>${p.badges.map((b) => html`<span class="mono">${b.masked}</span> ${statusTag(t, b)}<br>`)}</td>
<td>${p.permissions.map((x) => html`${x.doorId} (${scheduleName(dash, x.scheduleId)})<br>`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty" id="people-none">${filtered ? t('people_none_match') : t('none')}</p>`
}
${pager}
</section>
${
  can(role, 'people.write')
    ? html`<section class="card">
<h2>${t('add_person')}</h2>
<form data-api="/api/people" data-method="POST" data-then="/people/{id}" class="grid-form" id="add-person">
  <label>${t('name')}<input name="name" required maxlength="200"></label>
  <label>${t('id_card')}<input name="displayId" required maxlength="200"></label>
  <label>${t('category')}<select name="category"><option value="staff">${t('cat_staff')}</option><option value="contractor">${t('cat_contractor')}</option></select></label>
  <label>${t('valid_from')}<input type="date" name="validFrom"></label>
  <label>${t('valid_until')}<input type="date" name="validUntil"></label>
  <label class="check"><input type="checkbox" name="lockdownOverride"> ${t('lockdown_override')}</label>
  ${formError}
  <button type="submit" class="primary">${t('add_person')}</button>
</form></section>`
    : ''
}`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/people/:id',
    auth: 'people.read',
    kind: 'page',
    tag: 'people',
    summary: 'One person: details, badges (lost, revoke, enrol), door access (withdraw, request)',
    params: IdParam,
    handler: ({ t, lang, principal, params }) => {
      const role = principal.user.role;
      const p = personView(dash, requirePerson(params.id));
      const schedules = [{ id: 'always', name: 'always' }, ...config.schedules];
      const isVisitor = p.category === 'visitor';
      return page(
        { dash, t, lang, principal: principal },
        {
          title: p.name,
          active: 'people',
          body: html`<h1>${p.name} <span class="tag cat-${p.category}">${categoryLabel(t, p.category)}</span></h1>
<section class="card"><dl class="facts">
<dt>${t('id_card')}</dt><dd>${p.displayId}</dd>
<dt>${t('status')}</dt><dd>${p.active ? t('active') : t('inactive')}${p.expired ? html` <span class="tag bad">${t('expired')}</span>` : ''}</dd>
<dt>${t('valid_from')}</dt><dd>${fmtDate(dash, p.validFrom)}</dd>
<dt>${t('valid_until')}</dt><dd>${p.validUntil === null ? t('open_ended') : fmtDate(dash, p.validUntil - 1)}</dd>
<dt>${t('lockdown_override')}</dt><dd>${p.lockdownOverride ? t('yes') : t('no')}</dd>
${
  p.category === 'staff'
    ? html`<dt>${t('may_escort')}</dt><dd id="may-escort">${p.mayEscort ? t('yes') : t('no')}
${p.mayEscort && can(role, 'people.write') ? html`<button type="button" data-api="/api/people/${p.id}/escort-revoke" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('revoke_escort')}</button>` : ''}
${
  !p.mayEscort && p.active && can(role, 'requests.create')
    ? html`<form class="inline" data-api="/api/requests" data-method="POST" data-then="/requests" id="request-escort">
<input type="hidden" name="kind" value="escort_permission"><input type="hidden" name="payload.personId" value="${p.id}">
<input name="reason" required maxlength="500" placeholder="${t('request_reason')}" aria-label="${t('request_reason')}">
<button type="submit">${t('request_escort')}</button>${formError}</form>`
    : ''
}</dd>`
    : ''
}
</dl>
<p><a href="/log?person=${p.id}">${t('person_history')} →</a></p>
${
  can(role, 'people.write') && !isVisitor
    ? html`<details><summary>${t('edit_person')}</summary>
<form data-api="/api/people/${p.id}" data-method="PATCH" data-then="reload" class="grid-form" id="edit-person">
  <label>${t('name')}<input name="name" value="${p.name}" required></label>
  <label>${t('id_card')}<input name="displayId" value="${p.displayId}" required></label>
  <label>${t('valid_until')}<input type="date" name="validUntil" value="${p.validUntil === null ? '' : fmtDate(dash, p.validUntil - 1)}" data-null-if-empty></label>
  <label class="check"><input type="checkbox" name="active"${p.active ? html` checked` : ''}> ${t('active')}</label>
  <label class="check"><input type="checkbox" name="lockdownOverride"${p.lockdownOverride ? html` checked` : ''}> ${t('lockdown_override')}</label>
  ${formError}<button type="submit">${t('save')}</button>
</form></details>`
    : ''
}
</section>
<section class="card"><h2>${t('badges')}</h2>
${
  p.badges.length
    ? html`<table class="grid" id="badges"><thead><tr><th>${t('badge')}</th><th>${t('status')}</th><th>${t('valid_until')}</th><th></th></tr></thead><tbody>${p.badges.map(
        (b) => html`<tr data-badge="${b.id}"><td class="mono">${b.masked}</td><td>${statusTag(t, b)}</td>
<td>${b.validUntil === null ? t('open_ended') : fmtDate(dash, b.validUntil - 1)}</td><td class="actions">
${b.status === 'active' && can(role, 'badges.lost') ? html`<button type="button" class="danger" data-api="/api/badges/${b.id}/lost" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload" data-lost="${b.id}">${t('badge_lost')}</button>` : ''}
${b.status !== 'revoked' && can(role, 'badges.revoke') ? html`<button type="button" data-api="/api/badges/${b.id}/revoke" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('badge_revoke')}</button>` : ''}
</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${
  can(role, 'people.write') && !isVisitor
    ? html`<form data-api="/api/people/${p.id}/badges" data-method="POST" data-then="reload" class="grid-form" id="enrol-badge">
  <label>${t('badge_number')}<input name="number" required maxlength="40" placeholder="0A1B2C3D4E" autocomplete="off"></label>
  <label>${t('valid_until')}<input type="date" name="validUntil"></label>
  ${formError}<button type="submit">${t('add_badge')}</button></form>`
    : ''
}
</section>
<section class="card"><h2>${t('permissions')}</h2>
${
  p.permissions.length
    ? html`<table class="grid" id="permissions"><thead><tr><th>${t('door')}</th><th>${t('schedule')}</th><th></th></tr></thead><tbody>${p.permissions.map(
        (x) => html`<tr><td>${x.doorId}</td><td>${scheduleName(dash, x.scheduleId)}</td><td class="actions">
${can(role, 'people.write') ? html`<button type="button" data-api="/api/people/${p.id}/revoke-door" data-method="POST" data-body='${JSON.stringify({ doorId: x.doorId, scheduleId: x.scheduleId })}' data-confirm="${t('confirm_action')}" data-then="reload">${t('revoke_access')}</button>` : ''}
</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${
  can(role, 'requests.create') && !isVisitor
    ? html`<h3>${t('request_access')}</h3>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="request-access">
  <input type="hidden" name="kind" value="access_grant"><input type="hidden" name="payload.personId" value="${p.id}">
  <label>${t('door')}<select name="payload.doorId">${config.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('schedule')}<select name="payload.scheduleId">${schedules.map((s) => html`<option value="${s.id}">${s.name ?? s.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('request_access')}</button></form>
${
  p.permissions.length
    ? html`<h3>${t('request_schedule_change')}</h3>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="request-schedule">
  <input type="hidden" name="kind" value="schedule_change"><input type="hidden" name="payload.personId" value="${p.id}">
  <label>${t('door')}<select name="payload.doorId">${config.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('new_from_schedule')}<select name="payload.fromScheduleId">${p.permissions.map((x) => html`<option value="${x.scheduleId}">${scheduleName(dash, x.scheduleId)}</option>`)}</select></label>
  <label>${t('new_to_schedule')}<select name="payload.toScheduleId">${schedules.map((s) => html`<option value="${s.id}">${s.name ?? s.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form>`
    : ''
}`
    : ''
}
</section>`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary:
      'People with badges (masked) and door access, by name, a page at a time (`limit`, default 100, at most 500): ' +
      'filter with `q` (part of the name or ID card), `badge` (badge id or last 4), `category`, `active` (1 or 0); ' +
      '`total` counts the matches; page with `cursor` = the previous answer’s `next` (or `prev`)',
    query: PeopleListQuery,
    response: z.object({
      people: z.array(PersonView),
      total: z.number(),
      offset: z.number(),
      limit: z.number(),
      next: z.string().nullable(),
      prev: z.string().nullable(),
    }),
    handler: ({ query }) => peoplePage(dash, query),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people/search',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary:
      'Active people whose name or ID contains `q` (at most `limit`, default 20), optionally of `category` ' +
      '(one or several, comma-separated): for pickers such as the presence correction and the request forms, ' +
      'which must not put the whole registry into a page',
    query: z.strictObject({
      q: z.string().min(1).max(100),
      limit: z.coerce.number().int().min(1).max(100).optional(),
      /** One category or several, comma-separated (e.g. `staff,contractor`). */
      category: z
        .string()
        .regex(CATEGORY_LIST, 'expected staff, contractor or visitor, or several comma-separated')
        .optional(),
    }),
    response: z.object({
      people: z.array(
        z.object({ id: z.string(), name: z.string(), displayId: z.string(), category: PersonCategory }),
      ),
    }),
    handler: ({ query }) => ({
      people: registry
        .searchPeople(
          query.q,
          query.limit ?? 20,
          query.category === undefined ? undefined : (query.category.split(',') as PersonCategory[]),
        )
        .map((p) => ({ id: p.id, name: p.name, displayId: p.displayId, category: p.category })),
    }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people/:id',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary: 'One person',
    params: IdParam,
    response: PersonView,
    handler: ({ params }) => personView(dash, requirePerson(params.id)),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Add a staff member or contractor (visitors come through a visitor-badge request)',
    body: PersonBody,
    response: PersonView,
    handler: ({ body, principal }) => {
      const p = registry.addPerson(
        {
          displayId: body.displayId,
          name: body.name,
          category: body.category,
          validFrom: localTime(dash, body.validFrom, false),
          validUntil: localTime(dash, body.validUntil, true),
          lockdownOverride: body.lockdownOverride ?? false,
        },
        principal.actor,
        dash.now(),
      );
      return personView(dash, p);
    },
  });

  addRoute(app, guard, {
    method: 'PATCH',
    url: '/api/people/:id',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Edit a person (name, ID, validity, active, lockdown override); journaled with the change',
    params: IdParam,
    body: PersonPatch,
    response: PersonView,
    handler: ({ params, body, principal }) => {
      const current = requirePerson(params.id);
      if (current.category === 'visitor')
        throw new ApiError(409, 'conflict', 'visitors are changed through their badge request');
      const patch: Parameters<typeof registry.updatePerson>[1] = {};
      if (body.displayId !== undefined) patch.displayId = body.displayId;
      if (body.name !== undefined) patch.name = body.name;
      if (body.active !== undefined) patch.active = body.active;
      if (body.lockdownOverride !== undefined) patch.lockdownOverride = body.lockdownOverride;
      if (body.validFrom !== undefined) patch.validFrom = localTime(dash, body.validFrom, false);
      if (body.validUntil !== undefined) patch.validUntil = localTime(dash, body.validUntil, true);
      return personView(dash, registry.updatePerson(params.id, patch, principal.actor, dash.now()));
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/badges',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary:
      'Enrol a badge: `number` as printed for the reader (10 hex digits, or W26:facility:card); stored only as a keyed hash',
    params: IdParam,
    body: z.strictObject({
      number: z.string().trim().min(1).max(40),
      format: EnrolFormat.default('auto'),
      validFrom: LocalDate.nullable().optional(),
      validUntil: LocalDate.nullable().optional(),
    }),
    handler: ({ params, body, principal }) => {
      const p = requirePerson(params.id);
      if (p.category === 'visitor')
        throw new ApiError(409, 'conflict', 'a visitor badge is handed out through its approved request');
      let credential: string;
      try {
        credential = normaliseCredential(body.format, body.number);
      } catch (err) {
        if (err instanceof CredentialError) throw new ApiError(400, 'invalid_credential', err.message);
        throw err;
      }
      const b = registry.addBadge(
        {
          personId: p.id,
          credential,
          validFrom: localTime(dash, body.validFrom, false),
          validUntil: localTime(dash, body.validUntil, true),
        },
        principal.actor,
        dash.now(),
      );
      return badgeView(b, dash.now());
    },
  });

  const setStatus = (status: 'lost' | 'revoked', perm: 'badges.lost' | 'badges.revoke', summary: string) =>
    addRoute(app, guard, {
      method: 'POST',
      url: `/api/badges/:id/${status === 'lost' ? 'lost' : 'revoke'}`,
      auth: perm,
      kind: 'json',
      tag: 'people',
      summary,
      params: IdParam,
      body: z.strictObject({ reason: z.string().trim().max(500).optional() }),
      handler: ({ params, body, principal }) => {
        const at = dash.now();
        const b = registry.setBadgeStatus(params.id, status, principal.actor, at, body.reason);
        dash.hub.notify();
        return { ...badgeView(b, at), effectiveAt: at };
      },
    });
  setStatus(
    'lost',
    'badges.lost',
    'Lost badge (§6(1)⑧): disabled at once, no approval; refused at every door from the moment this answers',
  );
  setStatus('revoked', 'badges.revoke', 'Revoke a badge (final; issue a new one instead)');

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/escort-revoke',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Withdraw the permission to escort visitors, at once (granting it is a request)',
    params: IdParam,
    handler: ({ params, principal }) => {
      requirePerson(params.id);
      return { mayEscort: registry.setMayEscort(params.id, false, principal.actor, dash.now()) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/revoke-door',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Withdraw door access at once (revocation never waits for approval)',
    params: IdParam,
    body: z.strictObject({
      doorId: z.string().min(1).max(64),
      scheduleId: z.string().min(1).max(64).optional(),
    }),
    handler: ({ params, body, principal }) => {
      requirePerson(params.id);
      const removed = registry.revokeDoor(
        params.id,
        body.doorId,
        principal.actor,
        dash.now(),
        body.scheduleId,
      );
      return { removed };
    },
  });
}
