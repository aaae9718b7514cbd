/** The people list (a page at a time, filtered) and one person with their badges and door access. */
import { PersonCategory } from '../../controller/domain/index.js';
import { html, type SafeHtml } from '../html.js';
import type { Translate } from '../i18n.js';
import { categoryLabel, fmtDate, formError, may, page, type Shell } from './layout.js';

export interface BadgeView {
  id: string;
  masked: string;
  status: string;
  validFrom: number | null;
  validUntil: number | null;
  expired: boolean;
}

/** A person with their badges, door access and escort permission. */
export interface PersonView {
  id: string;
  displayId: string;
  name: string;
  reading?: string | undefined;
  category: string;
  validFrom: number | null;
  validUntil: number | null;
  active: boolean;
  lockdownOverride: boolean;
  mayEscort: boolean;
  expired: boolean;
  badges: readonly BadgeView[];
  permissions: readonly { doorId: string; scheduleId: string }[];
}

export interface ScheduleLabel {
  id: string;
  name?: string | undefined;
}

/** The list's query as the request gave it (the form shows it again, the links carry it on). */
export interface PeopleQueryView {
  q?: string | undefined;
  badge?: string | undefined;
  category?: string | undefined;
  active?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface PeopleListView {
  query: PeopleQueryView;
  /** The page size a query without `limit` gets (links leave it out). */
  defaultLimit: number;
  list: {
    people: readonly PersonView[];
    total: number;
    offset: number;
    next: string | null;
    prev: string | null;
  };
  /** Active people by category. */
  activeCounts: Partial<Record<string, number>>;
  schedules: readonly ScheduleLabel[];
}

export interface PersonPageView {
  person: PersonView;
  schedules: readonly ScheduleLabel[];
  /** Pending requests about this person (a badge, validity, the override, access…). */
  pending?: readonly { id: number; kind: string; requestedBy: string; requestedAt: number }[];
  /** A badge just reported lost or found from this page: said plainly at the top. */
  done?: { act: 'lost' | 'found'; masked: string };
}

/** The optional break-glass reason of a form that widens access (filled only to act alone). */
function actAlone(t: Translate): SafeHtml {
  return html`<details class="wide break-glass"><summary>${t('break_glass')}</summary>
<label>${t('break_glass_act_alone')}<input name="breakGlass.reason" minlength="20" maxlength="500" autocomplete="off"></label></details>`;
}

function peopleQueryString(q: PeopleQueryView, defaultLimit: number, cursor?: string): string {
  const qs = new URLSearchParams();
  for (const k of ['q', 'badge', 'category', 'active'] as const) if (q[k]) qs.set(k, q[k]);
  if (q.limit !== defaultLimit) qs.set('limit', String(q.limit));
  if (cursor) qs.set('cursor', cursor);
  const s = qs.toString();
  return s ? `?${s}` : '';
}

const numberFormat = new Intl.NumberFormat('en-US');
const fmtCount = (n: number) => numberFormat.format(n);

function peopleFilterForm(t: Translate, q: PeopleQueryView, defaultLimit: number): SafeHtml {
  const sel = (v: string | undefined, x: string) => (v === x ? html` selected` : '');
  return html`<form class="filters card" method="GET" action="/people" id="people-filters" role="search">
  <label>${t('person')}<input type="search" name="q" value="${q.q ?? ''}" maxlength="100" placeholder="${t('people_search_hint')}"></label>
  <label>${t('badge')}<input name="badge" value="${q.badge ?? ''}" maxlength="64" autocomplete="off" placeholder="${t('people_badge_hint')}" pattern="[•*]*[^•*]{4}|b_[0-9A-Za-z]{1,62}" title="${t('people_badge_hint')}"></label>
  <label>${t('category')}<select name="category"><option value="">${t('all')}</option>${PersonCategory.options.map(
    (c) => html`<option value="${c}"${sel(q.category, c)}>${t(`cat_${c}`)}</option>`,
  )}</select></label>
  <label>${t('status')}<select name="active"><option value="">${t('all')}</option>
    <option value="1"${sel(q.active, '1')}>${t('active')}</option><option value="0"${sel(q.active, '0')}>${t('inactive')}</option></select></label>
  ${q.limit !== defaultLimit ? html`<input type="hidden" name="limit" value="${q.limit}">` : ''}
  <div class="buttons">
    <button type="submit" class="primary">${t('filter')}</button>
    <a class="button" href="/people">${t('clear')}</a>
  </div>
</form>`;
}

function scheduleName(schedules: readonly ScheduleLabel[], id: string): string {
  if (id === 'always') return 'always';
  return schedules.find((s) => s.id === id)?.name ?? id;
}

function statusTag(t: Translate, b: BadgeView): SafeHtml {
  // A returned visitor card is the visit's normal end, not a fault.
  const cls = b.status === 'active' && !b.expired ? 'ok' : b.status === 'returned' ? '' : 'bad';
  return html`<span class="tag ${cls}">${t(`badge_status_${b.status}`)}${b.expired ? ` · ${t('expired')}` : ''}</span>`;
}

export function peoplePage(v: Shell, s: PeopleListView): SafeHtml {
  const { t } = v;
  const { list, query, defaultLimit } = s;
  const { people } = list;
  const active = s.activeCounts;
  const filtered = !!(query.q || query.badge || query.category || query.active);
  const pager = html`<p class="pager" id="people-pager">
<span>${query.cursor ? html`<a href="/people${peopleQueryString(query, defaultLimit)}" id="people-first">${t('people_first_page')}</a>` : ''}
${list.prev ? html`<a href="/people${peopleQueryString(query, defaultLimit, list.prev)}" id="people-prev" rel="prev">${t('people_prev_page')}</a>` : ''}</span>
${list.next ? html`<a href="/people${peopleQueryString(query, defaultLimit, list.next)}" id="people-next" rel="next">${t('people_next_page')}</a>` : ''}</p>`;
  return page(v, {
    title: t('people_title'),
    active: 'people',
    wide: true,
    body: html`<h1>${t('people_title')}</h1>
<p class="meta" id="people-counts">${t('people_active_counts', {
      staff: fmtCount(active.staff ?? 0),
      contractor: fmtCount(active.contractor ?? 0),
      visitor: fmtCount(active.visitor ?? 0),
    })}</p>
${peopleFilterForm(t, query, defaultLimit)}
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
<td><a href="/people/${p.id}">${p.name}</a>${p.reading ? html`<br><small class="reading">${p.reading}</small>` : ''}</td><td>${p.displayId}</td><td><span class="tag cat-${p.category}">${categoryLabel(t, p.category)}</span></td>
<td>${p.active ? (p.expired ? html`<span class="tag bad">${t('expired')}</span>` : t('active')) : t('inactive')}</td>
<td>${p.validUntil === null ? t('open_ended') : fmtDate(v, p.validUntil - 1)}</td>
<td>${p.badges.map((b) => html`<span class="mono">${b.masked}</span> ${statusTag(t, b)}<br>`)}</td>
<td>${p.permissions.map((x) => html`${x.doorId} (${scheduleName(s.schedules, x.scheduleId)})<br>`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty" id="people-none">${filtered ? t('people_none_match') : t('none')}</p>`
}
${pager}
</section>
${
  may(v, 'people.write')
    ? html`<section class="card">
<h2>${t('add_person')}</h2>
<form data-api="/api/people" data-method="POST" data-then="/people/{id}" class="grid-form" id="add-person">
  <label>${t('name')}<input name="name" required maxlength="200"></label>
  <label>${t('reading')}<input name="reading" maxlength="100" placeholder="${t('reading_hint')}" lang="ja"></label>
  <label>${t('id_card')}<input name="displayId" required maxlength="200"></label>
  <label>${t('category')}<select name="category"><option value="staff">${t('cat_staff')}</option><option value="contractor">${t('cat_contractor')}</option></select></label>
  <label>${t('valid_from')}<input type="date" name="validFrom"></label>
  <label>${t('valid_until')}<input type="date" name="validUntil"></label>
  <label class="check"><input type="checkbox" name="lockdownOverride"> ${t('lockdown_override')}</label>
  <p class="hint wide">${t('widening_needs_request')}</p>
  ${formError}
  <button type="submit" class="primary">${t('add_person')}</button>
</form></section>`
    : ''
}`,
  });
}

export function personPage(v: Shell, { person: p, ...s }: PersonPageView): SafeHtml {
  const { t } = v;
  const schedules = [{ id: 'always', name: 'always' }, ...s.schedules];
  const isVisitor = p.category === 'visitor';
  return page(v, {
    title: p.name,
    active: 'people',
    body: html`<h1>${p.name} <span class="tag cat-${p.category}">${categoryLabel(t, p.category)}</span></h1>
${s.done ? html`<p class="notice ${s.done.act === 'lost' ? 'bad' : 'good'}" role="status" id="badge-done">${t(`badge_${s.done.act}_done`, { card: s.done.masked })}</p>` : ''}
<section class="card"><dl class="facts">
${p.reading ? html`<dt>${t('reading')}</dt><dd id="person-reading">${p.reading}</dd>` : ''}
<dt>${t('id_card')}</dt><dd>${p.displayId}</dd>
<dt>${t('status')}</dt><dd>${p.active ? t('active') : t('inactive')}${p.expired ? html` <span class="tag bad">${t('expired')}</span>` : ''}</dd>
<dt>${t('valid_from')}</dt><dd>${fmtDate(v, p.validFrom)}</dd>
<dt>${t('valid_until')}</dt><dd>${p.validUntil === null ? t('open_ended') : fmtDate(v, p.validUntil - 1)}</dd>
<dt>${t('lockdown_override')}</dt><dd>${p.lockdownOverride ? t('yes') : t('no')}</dd>
${
  p.category === 'staff'
    ? html`<dt>${t('may_escort')}</dt><dd id="may-escort">${p.mayEscort ? t('yes') : t('no')}
${p.mayEscort && may(v, 'people.write') ? html`<button type="button" data-api="/api/people/${p.id}/escort-revoke" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('revoke_escort')}</button>` : ''}
${
  !p.mayEscort && p.active && may(v, 'requests.create')
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
  s.pending?.length
    ? html`<h3>${t('pending_about_person')}</h3><ul id="person-pending">${s.pending.map(
        (r) => html`<li data-request="${r.id}"><a href="/requests">#${r.id} ${t(`kind_${r.kind}`)}</a></li>`,
      )}</ul>`
    : ''
}
${
  may(v, 'people.write') && !isVisitor
    ? html`<details><summary>${t('edit_person')}</summary>
<form data-api="/api/people/${p.id}" data-method="PATCH" data-then="reload" class="grid-form" id="edit-person">
  <label>${t('name')}<input name="name" value="${p.name}" required></label>
  <label>${t('reading')}<input name="reading" value="${p.reading ?? ''}" maxlength="100" placeholder="${t('reading_hint')}" lang="ja" data-null-if-empty></label>
  <label>${t('id_card')}<input name="displayId" value="${p.displayId}" required></label>
  <label>${t('valid_until')}<input type="date" name="validUntil" value="${p.validUntil === null ? '' : fmtDate(v, p.validUntil - 1)}" data-null-if-empty></label>
  <label class="check"><input type="checkbox" name="active"${p.active ? html` checked` : ''}> ${t('active')}</label>
  <label class="check"><input type="checkbox" name="lockdownOverride"${p.lockdownOverride ? html` checked` : ''}> ${t('lockdown_override')}</label>
  <p class="hint wide">${t('widening_needs_request')}</p>
  <label class="wide">${t('request_reason')}<input name="reason" maxlength="500"></label>
  ${actAlone(t)}
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
<td>${b.validUntil === null ? t('open_ended') : fmtDate(v, b.validUntil - 1)}</td><td class="actions">
${
  b.status === 'active' && may(v, 'badges.lost')
    ? html`<details class="badge-act"><summary>${t('badge_lost')}</summary>
<form data-api="/api/badges/${b.id}/lost" data-method="POST" data-confirm="${t('badge_lost_confirm', { card: b.masked })}" data-then="/people/${p.id}?lost={id}" data-lost="${b.id}">
<label>${t('badge_lost_reason')}<input name="reason" required maxlength="500" autocomplete="off"></label>
<button type="submit" class="danger">${t('badge_lost_submit')}</button>${formError}</form></details>`
    : ''
}
${
  b.status === 'lost' && may(v, 'badges.lost')
    ? html`<details class="badge-act"><summary>${t('badge_found')}</summary>
<form data-api="/api/badges/${b.id}/found" data-method="POST" data-confirm="${t('badge_found_confirm', { card: b.masked })}" data-then="/people/${p.id}?found={id}" data-found="${b.id}">
<p class="hint">${t('badge_found_hint')}</p>
<label>${t('badge_found_note')}<input name="note" required maxlength="500" autocomplete="off"></label>
<button type="submit">${t('badge_found_submit')}</button>${formError}</form></details>`
    : ''
}
${b.status !== 'revoked' && b.status !== 'returned' && may(v, 'badges.revoke') ? html`<button type="button" data-api="/api/badges/${b.id}/revoke" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('badge_revoke')}</button>` : ''}
</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${
  may(v, 'people.write') && !isVisitor
    ? html`<form data-api="/api/people/${p.id}/badges" data-method="POST" data-then="reload" class="grid-form" id="enrol-badge">
  <label>${t('badge_number')}<input name="number" required maxlength="40" placeholder="0A1B2C3D4E / 12:3456" autocomplete="off"></label>
  <label>${t('badge_format')}<select name="format"><option value="auto">${t('badge_format_auto')}</option>${['em4100', 'wiegand26', 'wiegand34', 'line'].map((f) => html`<option value="${f}">${f}</option>`)}</select></label>
  <label>${t('valid_until')}<input type="date" name="validUntil"></label>
  <label class="wide">${t('request_reason')}<input name="reason" maxlength="500"></label>
  <p class="hint wide">${t('widening_needs_request')}</p>
  ${actAlone(t)}
  ${formError}<button type="submit">${t('request_badge')}</button></form>`
    : ''
}
</section>
<section class="card"><h2>${t('permissions')}</h2>
${
  p.permissions.length
    ? html`<table class="grid" id="permissions"><thead><tr><th>${t('door')}</th><th>${t('schedule')}</th><th></th></tr></thead><tbody>${p.permissions.map(
        (
          x,
        ) => html`<tr><td>${x.doorId}</td><td>${scheduleName(s.schedules, x.scheduleId)}</td><td class="actions">
${may(v, 'people.write') ? html`<button type="button" data-api="/api/people/${p.id}/revoke-door" data-method="POST" data-body='${JSON.stringify({ doorId: x.doorId, scheduleId: x.scheduleId })}' data-confirm="${t('confirm_action')}" data-then="reload">${t('revoke_access')}</button>` : ''}
</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}
${
  may(v, 'requests.create') && !isVisitor
    ? html`<h3>${t('request_access')}</h3>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="request-access">
  <input type="hidden" name="kind" value="access_grant"><input type="hidden" name="payload.personId" value="${p.id}">
  <label>${t('door')}<select name="payload.doorId">${v.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('schedule')}<select name="payload.scheduleId">${schedules.map((s) => html`<option value="${s.id}">${s.name ?? s.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('request_access')}</button></form>
${
  p.permissions.length
    ? html`<h3>${t('request_schedule_change')}</h3>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="request-schedule">
  <input type="hidden" name="kind" value="schedule_change"><input type="hidden" name="payload.personId" value="${p.id}">
  <label>${t('door')}<select name="payload.doorId">${v.doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('new_from_schedule')}<select name="payload.fromScheduleId">${p.permissions.map((x) => html`<option value="${x.scheduleId}">${scheduleName(s.schedules, x.scheduleId)}</option>`)}</select></label>
  <label>${t('new_to_schedule')}<select name="payload.toScheduleId">${schedules.map((s) => html`<option value="${s.id}">${s.name ?? s.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form>`
    : ''
}`
    : ''
}
</section>`,
  });
}
