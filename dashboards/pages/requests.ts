/**
 * The requests page (pending and decided requests; approve, reject, withdraw; new requests) and the
 * visitors page built on them (the unreturned badges, approved badges to hand out, a new visitor).
 */
import { samePerson } from '../../controller/accounts/person.js';
import { html, type SafeHtml } from '../html.js';
import type { Translate } from '../i18n.js';
import { actorLabel, categoryLabel, doorName, fmtTime, formError, may, page, type Shell } from './layout.js';

/** A request as the pages show it. */
export interface RequestView {
  id: number;
  kind: string;
  status: string;
  requestedBy: string;
  requestedAt: number;
  payload: Record<string, unknown>;
  reason: string;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  /** What carrying it out answered (a visitor request: `badgeId` once handed out). */
  result?: Record<string, unknown> | null;
  /** A break-glass use: its reason and review (controller/approvals/break-glass.ts). */
  breakGlass?: {
    reason: string;
    reviewedBy: string | null;
    reviewedAt: number | null;
    reviewNote: string | null;
  } | null;
}

/** The labels of the people and accounts the requests name: `Name [ID]`, `Display (username)`. */
export interface RequestNames {
  people: ReadonlyMap<string, string>;
  accounts: ReadonlyMap<string, string>;
}

function summary(v: Shell, names: RequestNames, r: RequestView): SafeHtml {
  const { t } = v;
  const p = r.payload;
  const person = (id: unknown) => (typeof id === 'string' ? names.people.get(id) : undefined) ?? String(id);
  const user = (id: unknown) => (typeof id === 'string' ? names.accounts.get(id) : undefined) ?? String(id);
  switch (r.kind) {
    case 'access_grant':
      return html`${person(p.personId)} → ${doorName(v, String(p.doorId))} (${String(p.scheduleId)})`;
    case 'schedule_change':
      return html`${person(p.personId)} · ${doorName(v, String(p.doorId))}: ${String(p.fromScheduleId)} → ${String(p.toScheduleId)}`;
    case 'escort_permission':
      return html`${person(p.personId)} → ${t('may_escort')}`;
    case 'visitor_badge':
      return html`${typeof p.amends === 'number' ? html`<span class="tag warn">${t('amendment_of', { id: p.amends })}</span> ` : ''}${String(p.name)}${p.organisation ? ` (${String(p.organisation)})` : ''} · ${t('host')}: ${person(p.hostPersonId)} ·
${fmtTime(v, Number(p.validFrom))} – ${fmtTime(v, Number(p.validUntil))} · ${String(p.purpose)}${p.equipment ? html` · ${t('equipment')}: ${String(p.equipment)}` : ''}`;
    case 'equipment':
      return html`${person(p.personId)} · ${p.direction === 'in' ? t('in') : t('out')} · ${String(p.description)} · ${t('witness')}: ${person(p.witnessPersonId)}`;
    case 'account_create':
      return html`${String(p.username)} · ${String(p.displayName)} · ${t(`role_${String(p.role)}`)}`;
    case 'role_change':
      return html`${user(p.userId)} → ${t(`role_${String(p.role)}`)}`;
    case 'password_reset':
      return html`${user(p.userId)}`;
    case 'badge_enrol':
      return html`${person(p.personId)} · <span class="mono">${String(p.masked)}</span>${p.validUntil === null ? '' : html` · ${t('valid_until')} ${fmtTime(v, Number(p.validUntil))}`}`;
    case 'validity_change': {
      const when = (x: unknown) => (x === null ? t('open_ended') : fmtTime(v, Number(x)));
      return html`${person(p.personId)}${p.validFrom === undefined ? '' : html` · ${t('valid_from')} ${when(p.validFrom)}`}${p.validUntil === undefined ? '' : html` · ${t('valid_until')} ${when(p.validUntil)}`}${p.active ? html` · ${t('reactivate')}` : ''}`;
    }
    case 'lockdown_override':
      return html`${person(p.personId)} → ${t('lockdown_override')}`;
    case 'manual_entry':
      return html`<span class="tag warn">${t('reason_manual_entry')}</span> ${person(p.personId)} · ${doorName(v, String(p.doorId))} · ${p.direction === 'in' ? t('in') : t('out')} · ${t('manual_paper_time')} ${fmtTime(v, Number(p.paperAt))} · ${t('manual_paper_ref')} ${String(p.paperRef)}${typeof p.escortId === 'string' ? html` · ${t('escort')}: ${person(p.escortId)}` : ''}${p.outsideOutage ? html` <span class="tag bad" data-outside-outage>${t('manual_outside_outage')}</span>` : ''}`;
    default:
      return html``;
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
  o: { name: string; id: string; label: string; categories?: readonly string[]; optional?: boolean },
): SafeHtml {
  return html`<fieldset class="person-picker" data-person-picker data-limit="${PICKER_LIMIT}"${o.categories ? html` data-category="${o.categories.join(',')}"` : ''}>
  <legend>${o.label}</legend>
  <input type="search" data-person-find maxlength="100" autocomplete="off" placeholder="${t('picker_find')}" aria-label="${o.label}: ${t('picker_find')}" aria-controls="${o.id}">
  <select name="${o.name}" id="${o.id}"${o.optional ? '' : html` required`} aria-label="${o.label}" data-none="${t('picker_none')}" data-found="${t('picker_found')}" data-more="${t('picker_more', { n: PICKER_LIMIT })}" data-failed="${t('picker_failed')}"><option value="">${t('picker_choose')}</option></select>
  <p class="hint" data-picker-status role="status" hidden></p>
</fieldset>`;
}

/** What became of an approved visitor request: withdrawn, or replaced by an amendment. */
function afterNote(v: Shell, r: RequestView): SafeHtml | string {
  const res = r.result ?? {};
  if (typeof res.supersededBy === 'number')
    return html`<div class="hint" data-superseded="${r.id}">${v.t('amended_by', { id: res.supersededBy })}</div>`;
  if (typeof res.withdrawnBy === 'string')
    return html`<div class="hint">${v.t('withdrawn_after_approval')} ${actorLabel(v, res.withdrawnBy)}</div>`;
  return '';
}

/** Whether the card of a visitor request was handed out. */
const handedOut = (r: RequestView) => typeof r.result?.badgeId === 'string';

function withdrawButton(v: Shell, id: number, approved = false): SafeHtml {
  const { t } = v;
  return html`<button type="button" data-api="/api/requests/${id}/withdraw" data-method="POST" data-then="reload" data-withdraw="${id}"${approved ? html` data-confirm="${t('withdraw_approved_confirm', { id })}"` : ''}>${t('withdraw')}</button>`;
}

function requestRow(v: Shell, names: RequestNames, r: RequestView): SafeHtml {
  const { t } = v;
  // One person, whatever credential filed it (a session, or the CLI through sudo).
  const own = samePerson(r.requestedBy, v.actor);
  const accountKind = r.kind === 'account_create' || r.kind === 'role_change' || r.kind === 'password_reset';
  const mayDecide = may(v, accountKind ? 'accounts.approve' : 'requests.approve');
  let actions: SafeHtml | string = '';
  if (r.status === 'pending') {
    // One's own request: no approve or reject to click (the server refuses them anyway), a plain note.
    actions = own
      ? html`<p class="hint" data-own-request="${r.id}">${t('own_request')}</p>${withdrawButton(v, r.id)}`
      : mayDecide
        ? html`<form class="inline" data-api="/api/requests/${r.id}/approve" data-method="POST" data-then="reload" data-approve="${r.id}">
  <input name="note" maxlength="500" placeholder="${t('decision_note')}" aria-label="${t('decision_note')}">
  <button type="submit" class="primary">${t('approve')}</button>
  ${formError}</form>
<details class="reject"><summary data-reject-open="${r.id}">${t('reject')}…</summary>
<form data-api="/api/requests/${r.id}/reject" data-method="POST" data-then="reload" data-confirm="${t('reject_confirm', { id: r.id })}" data-reject="${r.id}">
  <label>${t('reject_reason')}<textarea name="note" required maxlength="500" rows="2"></textarea></label>
  <button type="button" class="danger" data-api="/api/requests/${r.id}/reject" data-method="POST" data-form-body data-confirm="${t('reject_confirm', { id: r.id })}" data-then="reload">${t('reject_submit')}</button>
  ${formError}</form></details>`
        : '';
  }
  // An approved visitor request whose card is not handed out: its applicant may still withdraw it.
  if (own && r.status === 'approved' && r.kind === 'visitor_badge' && !handedOut(r))
    actions = withdrawButton(v, r.id, true);
  // The applicant of an approved account request collects their half of the activation code there.
  if (own && r.status === 'approved' && (r.kind === 'account_create' || r.kind === 'password_reset'))
    actions = html`<a href="/users#activation-halves" class="hint">${t('halves_title')}</a>`;
  return html`<tr data-request="${r.id}" class="status-${r.status}">
<td>#${r.id}</td><td>${t(`kind_${r.kind}`)}</td><td>${summary(v, names, r)}<div class="hint">${r.reason}</div></td>
<td>${actorLabel(v, r.requestedBy)}<div class="hint">${fmtTime(v, r.requestedAt)}</div></td>
<td><span class="tag st-${r.status}">${t(r.status)}</span>${r.breakGlass ? html` <span class="tag bad" data-break-glass="${r.id}">${t('break_glass')}</span>` : ''}${r.decidedBy ? html`<div class="hint">${actorLabel(v, r.decidedBy)} ${fmtTime(v, r.decidedAt)}</div>` : ''}${r.decisionNote ? html`<div class="hint"${r.status === 'rejected' ? html` data-reject-reason="${r.id}"` : ''}>${r.status === 'rejected' ? `${t('rejected_because')}: ` : ''}${r.decisionNote}</div>` : ''}${afterNote(v, r)}</td>
<td class="actions">${actions}</td></tr>`;
}

function requestTable(v: Shell, names: RequestNames, rows: readonly RequestView[], id: string): SafeHtml {
  const { t } = v;
  if (rows.length === 0) return html`<p class="empty">${t('none')}</p>`;
  return html`<table class="grid" id="${id}"><thead><tr><th>#</th><th>${t('request_kind')}</th><th>${t('details')}</th>
<th>${t('requested_by')}</th><th>${t('status')}</th><th></th></tr></thead><tbody>${rows.map((r) => requestRow(v, names, r))}</tbody></table>`;
}

export interface RequestsView {
  pending: readonly RequestView[];
  decided: readonly RequestView[];
  /** Break-glass uses awaiting their review by another person. */
  awaitingReview: readonly RequestView[];
  names: RequestNames;
  /** The schedules a new access grant may name (besides `always`). */
  schedules: readonly { id: string; name?: string | undefined }[];
}

/**
 * Break-glass uses awaiting their review: what was done alone, by whom and why; a different person
 * reviews it with a note (the one who acted is refused by the server).
 */
function breakGlassSection(v: Shell, names: RequestNames, rows: readonly RequestView[]): SafeHtml {
  const { t } = v;
  return html`<section class="card" id="break-glass"><h2>${t('break_glass_title')} <span class="count-inline">${rows.length}</span></h2>
<p class="hint">${t('break_glass_hint')}</p>
${
  rows.length === 0
    ? html`<p class="empty">${t('none')}</p>`
    : html`<table class="grid" id="break-glass-pending"><thead><tr><th>#</th><th>${t('request_kind')}</th><th>${t('details')}</th><th>${t('break_glass_by')}</th><th>${t('break_glass_reason')}</th><th></th></tr></thead><tbody>${rows.map(
        (
          r,
        ) => html`<tr data-review="${r.id}"><td>#${r.id}</td><td>${t(`kind_${r.kind}`)}</td><td>${summary(v, names, r)}</td>
<td>${actorLabel(v, r.requestedBy)}<div class="hint">${fmtTime(v, r.requestedAt)}</div></td><td>${r.breakGlass?.reason ?? ''}</td>
<td class="actions">${
          samePerson(r.requestedBy, v.actor)
            ? html`<p class="hint">${t('break_glass_own')}</p>`
            : may(v, 'requests.approve')
              ? html`<form class="inline" data-api="/api/break-glass/${r.id}/review" data-method="POST" data-then="reload">
  <input name="note" required minlength="5" maxlength="500" placeholder="${t('review_note')}" aria-label="${t('review_note')}">
  <button type="submit" class="primary">${t('review')}</button>${formError}</form>`
              : ''
        }</td></tr>`,
      )}</tbody></table>`
}</section>`;
}

export function requestsPage(v: Shell, s: RequestsView): SafeHtml {
  const { t, doors } = v;
  const { pending, decided, names } = s;
  return page(v, {
    title: t('requests_title'),
    active: 'requests',
    wide: true,
    body: html`<h1>${t('requests_title')}</h1>
${breakGlassSection(v, names, s.awaitingReview)}
<section class="card"><h2>${t('pending')} <span class="count-inline">${pending.length}</span></h2>
${requestTable(v, names, pending, 'pending-requests')}</section>
${
  may(v, 'requests.create')
    ? html`<section class="card"><h2>${t('new_request')}</h2>
<details><summary>${t('kind_access_grant')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="reload" class="grid-form" id="new-access-request">
  <input type="hidden" name="kind" value="access_grant">
  ${personPicker(t, { name: 'payload.personId', id: 'access-person', label: t('person'), categories: ['staff', 'contractor'] })}
  <label>${t('door')}<select name="payload.doorId">${doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('schedule')}<select name="payload.scheduleId"><option value="always">always</option>${s.schedules.map((x) => html`<option value="${x.id}">${x.name ?? x.id}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></details>
<details><summary>${t('kind_equipment')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="reload" class="grid-form" id="new-equipment-request">
  <input type="hidden" name="kind" value="equipment">
  ${personPicker(t, { name: 'payload.personId', id: 'equipment-person', label: t('person') })}
  <label>${t('direction')}<select name="payload.direction"><option value="in">${t('in')}</option><option value="out">${t('out')}</option></select></label>
  <label>${t('door')}<select name="payload.doorId">${doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  ${personPicker(t, { name: 'payload.witnessPersonId', id: 'equipment-witness', label: t('witness'), categories: ['staff'] })}
  <label class="wide">${t('equipment')}<input name="payload.description" required maxlength="500"></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></details>
<details><summary>${t('kind_manual_entry')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="reload" class="grid-form" id="new-manual-entry">
  <input type="hidden" name="kind" value="manual_entry">
  <p class="hint wide">${t('paper_form_lead')} <a href="/log/paper-form">${t('paper_form_link')}</a></p>
  ${personPicker(t, { name: 'payload.personId', id: 'manual-person', label: t('person') })}
  <label>${t('door')}<select name="payload.doorId">${doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('direction')}<select name="payload.direction"><option value="in">${t('in')}</option><option value="out">${t('out')}</option></select></label>
  <label>${t('manual_paper_time')}<input type="datetime-local" name="payload.paperAt" required></label>
  <label>${t('manual_paper_ref')}<input name="payload.paperRef" required maxlength="40" placeholder="1-3"></label>
  ${personPicker(t, { name: 'payload.escortId', id: 'manual-escort', label: t('paper_escort'), categories: ['staff'], optional: true })}
  <label class="check"><input type="checkbox" name="payload.outsideOutage"> ${t('manual_outside_outage')}</label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></details>
<p class="hint"><a href="/visitors">${t('issue_visitor')}</a> · <a href="/users">${t('request_account')}</a></p>
</section>`
    : ''
}
<section class="card"><h2>${t('approved')} / ${t('rejected')} / ${t('cancelled')}</h2>
${requestTable(v, names, decided, 'decided-requests')}</section>`,
  });
}

/** A visitor badge handed out and not yet back. */
export interface UnreturnedView {
  personId: string;
  badgeId: string;
  name: string;
  displayId: string;
  masked: string;
  hostName: string;
  purpose: string;
  equipment: readonly string[];
  validFrom: number | null;
  validUntil: number | null;
  status: string;
  overdue: boolean;
  /** Inside a room now, and if so whether escorted. */
  inside: boolean;
  escorted: boolean | null;
}

export interface VisitorsView {
  unreturned: readonly UnreturnedView[];
  /** Approved visitor-badge requests whose card is not handed out yet. */
  awaiting: readonly RequestView[];
  /** Pending amendments, by the approved request each would replace. */
  amendments: ReadonlyMap<number, number>;
  names: RequestNames;
  /** The new request's default window (`YYYY-MM-DDTHH:MM` in the site's zone): from now. */
  defaultWindow: { from: string; until: string };
  /** A time as a `datetime-local` field holds it. */
  localInput(ms: number): string;
  now: number;
}

/**
 * The applicant's acts on their approved visitor request before its card is handed out: withdraw
 * it, or file an amendment (a new request another person approves; the original stays as approved
 * until then).
 */
function awaitingOwnActs(v: Shell, s: VisitorsView, r: RequestView): SafeHtml {
  const { t, doors } = v;
  const p = r.payload;
  const pending = s.amendments.get(r.id);
  const text = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : '');
  return html`${withdrawButton(v, r.id, true)}${
    pending !== undefined
      ? html`<p class="hint" data-amendment-pending="${r.id}">${t('amendment_pending', { id: pending })}</p>`
      : html`<details class="amend"><summary data-amend-open="${r.id}">${t('amend')}</summary>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" data-amend="${r.id}">
  <input type="hidden" name="kind" value="visitor_badge">
  <input type="number" name="payload.amends" value="${r.id}" hidden>
  <input type="hidden" name="payload.name" value="${text('name')}">
  <input type="hidden" name="payload.organisation" value="${text('organisation')}">
  <input type="hidden" name="payload.displayId" value="${text('displayId')}">
  <input type="hidden" name="payload.hostPersonId" value="${text('hostPersonId')}">
  <p class="hint wide">${t('amend_hint')}</p>
  <label>${t('door')}<select name="payload.doorId">${doors.map((d) => html`<option value="${d.id}"${d.id === p.doorId ? html` selected` : ''}>${d.name}</option>`)}</select></label>
  <label>${t('valid_from')}<input type="datetime-local" name="payload.validFrom" required value="${s.localInput(Number(p.validFrom))}"></label>
  <label>${t('valid_until')}<input type="datetime-local" name="payload.validUntil" required value="${s.localInput(Number(p.validUntil))}"></label>
  <label class="wide">${t('purpose')}<input name="payload.purpose" required maxlength="200" value="${text('purpose')}"></label>
  <label class="wide">${t('equipment')}<textarea name="payload.equipment" maxlength="1000" rows="2">${text('equipment')}</textarea></label>
  <label class="wide">${t('amend_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('amend_submit')}</button></form></details>`
  }`;
}

export function visitorsPage(v: Shell, s: VisitorsView): SafeHtml {
  const { t, doors } = v;
  const { unreturned, awaiting, defaultWindow } = s;
  return page(v, {
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
          x,
        ) => html`<tr data-visitor="${x.personId}" data-badge="${x.badgeId}" class="${x.overdue ? 'overdue' : ''}"><td><a href="/people/${x.personId}">${x.name}</a></td><td>${x.displayId}</td>
<td class="mono">${x.masked}</td><td>${x.hostName}</td><td>${x.purpose}</td><td>${x.equipment.join(', ')}</td>
<td class="nowrap">${fmtTime(v, x.validFrom)}<br>– ${fmtTime(v, x.validUntil)}</td>
<td>${t(`vb_${x.status}`)}${x.inside ? html` <span class="tag ${x.escorted === false ? 'bad' : 'warn'}">${t('who_inside')}${x.escorted === false ? ` · ${t('unescorted')}` : ''}</span>` : ''}${x.overdue ? html` <span class="tag bad">${t('expired')}</span>` : ''}</td>
<td class="actions">${may(v, 'visitors.handle') ? html`<button type="button" data-api="/api/visitors/${x.badgeId}/return" data-method="POST" data-then="reload">${t('return_badge')}</button>` : ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('awaiting_issue')}</h2>
${
  awaiting.length
    ? html`<table class="grid" id="awaiting"><thead><tr><th>#</th><th>${t('details')}</th><th></th></tr></thead><tbody>${awaiting.map(
        (r) => {
          // A window that is over: no card to hand out; its applicant amends or withdraws it.
          const ended = Number(r.payload.validUntil) <= s.now;
          return html`<tr data-request="${r.id}"><td>#${r.id}</td><td>${summary(v, s.names, r)}${ended ? html` <span class="tag bad" data-visit-ended="${r.id}">${t('visit_ended')}</span>` : ''}<div class="hint">${t('requested_by')}: ${actorLabel(v, r.requestedBy)}</div></td><td class="actions">${
            may(v, 'visitors.handle') && !ended
              ? html`<form class="inline" data-api="/api/requests/${r.id}/issue-badge" data-method="POST" data-then="reload">
  <input name="number" required maxlength="40" placeholder="${t('badge_number')}" aria-label="${t('badge_number')}" autocomplete="off">
  <button type="submit">${t('hand_out_badge')}</button>${formError}</form>`
              : ''
          }${samePerson(r.requestedBy, v.actor) ? awaitingOwnActs(v, s, r) : ''}</td></tr>`;
        },
      )}</tbody></table>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
${
  may(v, 'requests.create')
    ? html`<section class="card"><h2>${t('issue_visitor')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="visitor-request">
  <input type="hidden" name="kind" value="visitor_badge">
  <label>${t('name')}<input name="payload.name" required maxlength="100"></label>
  <label>${t('organisation')}<input name="payload.organisation" maxlength="100"></label>
  <label>${t('visitor_pass_id')}<input name="payload.displayId" maxlength="64"></label>
  ${personPicker(t, { name: 'payload.hostPersonId', id: 'visitor-host', label: t('host'), categories: ['staff'] })}
  <label>${t('door')}<select name="payload.doorId">${doors.map((d) => html`<option value="${d.id}">${d.name}</option>`)}</select></label>
  <label>${t('valid_from')}<input type="datetime-local" name="payload.validFrom" required value="${defaultWindow.from}"></label>
  <label>${t('valid_until')}<input type="datetime-local" name="payload.validUntil" required value="${defaultWindow.until}"></label>
  <label class="wide">${t('purpose')}<input name="payload.purpose" required maxlength="200"></label>
  <label class="wide">${t('equipment')} <small>${t('equipment_hint')}</small><textarea name="payload.equipment" maxlength="1000" rows="2"></textarea></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('issue_visitor')}</button></form></section>`
    : ''
}
<p class="hint">${categoryLabel(t, 'visitor')}: §7(1)②エ</p>`,
  });
}
