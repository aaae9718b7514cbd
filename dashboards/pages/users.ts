/**
 * The accounts page: the list, the forms that request a new account, a role change or a password
 * reset, and the applicant's activation halves waiting to be shown.
 */
import { html, type SafeHtml } from '../html.js';
import { fmtDate, fmtTime, formError, may, page, type Shell } from './layout.js';

export interface UserRowView {
  id: string;
  username: string;
  displayName: string;
  role: string;
  active: boolean;
  validUntil: number | null;
  mustChangePassword: boolean;
  locked: boolean;
  lockedUntil: number | null;
  /** Waiting for activation with both halves. */
  activation: { purpose: string; expiresAt: number; expired: boolean; applicantShown: boolean } | null;
  /** A monitor's screen address (null: not bound yet) and name masking; null for other roles. */
  monitor?: { address: string | null; maskNames: boolean } | null;
}

/** An approved request of the viewer's whose applicant half has not been shown yet. */
export interface HalfWaiting {
  requestId: number;
  purpose: string;
  username: string;
  expiresAt: number;
}

export interface UsersView {
  users: readonly UserRowView[];
  /** The roles an account may be given. */
  roles: readonly string[];
  halves: readonly HalfWaiting[];
}

function activationTag(v: Shell, u: UserRowView): SafeHtml | string {
  const a = u.activation;
  if (!a) return '';
  const { t } = v;
  if (a.expired) return html` <span class="tag bad">${t('activation_expired_tag')}</span>`;
  return html` <span class="tag warn" title="${t(`kind_${a.purpose}`)}">${t('activation_pending', { date: fmtTime(v, a.expiresAt) })}</span>`;
}

/**
 * Under a monitor's row: its screen address and name masking, and for administrators the form that
 * sets them and the button that ends its sessions.
 */
function monitorRow(v: Shell, u: UserRowView, manage: boolean): SafeHtml {
  const { t } = v;
  const m = u.monitor!;
  const state = html`<span data-field="monitor-address">${m.address === null ? html`<span class="tag bad">${t('monitor_unbound')}</span>` : t('monitor_bound_to', { address: m.address })}</span>
 · <span data-field="monitor-mask">${m.maskNames ? t('monitor_names_masked') : t('monitor_names_shown')}</span>`;
  return html`<tr class="monitor-row" data-monitor="${u.username}"><td colspan="6">${t('monitor_screen')}: ${state}${
    manage && u.active
      ? html`
<form class="inline" data-api="/api/users/${u.id}/monitor" data-method="POST" data-then="reload">
  <label>${t('monitor_address')}<input name="address" required maxlength="64" value="${m.address ?? ''}" placeholder="10.0.0.5"></label>
  <label class="check"><input type="checkbox" name="maskNames"${m.maskNames ? ' checked' : ''}> ${t('monitor_mask_names')}</label>
  <button type="submit">${t('monitor_save')}</button>${formError}</form>
<button type="button" class="danger" data-api="/api/users/${u.id}/revoke" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('monitor_revoke')}</button>`
      : ''
  }</td></tr>`;
}

export function usersPage(v: Shell, { users: list, roles, halves }: UsersView): SafeHtml {
  const { t } = v;
  const manage = may(v, 'users.manage');
  return page(v, {
    title: t('users_title'),
    active: 'users',
    wide: true,
    body: html`<h1>${t('users_title')}</h1>
${
  halves.length
    ? html`<section class="card" id="activation-halves"><h2>${t('halves_title')}</h2>
<p class="hint">${t('halves_intro')}</p>
<table class="grid"><thead><tr><th>#</th><th>${t('request_kind')}</th><th>${t('username')}</th><th>${t('activation_until')}</th><th></th></tr></thead><tbody>${halves.map(
        (
          h,
        ) => html`<tr data-half="${h.requestId}"><td>#${h.requestId}</td><td>${t(`kind_${h.purpose}`)}</td><td>${h.username}</td><td>${fmtTime(v, h.expiresAt)}</td>
<td class="actions"><button type="button" class="primary" data-api="/api/requests/${h.requestId}/activation-half" data-method="POST" data-confirm="${t('half_confirm')}" data-then="reload">${t('show_half')}</button></td></tr>`,
      )}</tbody></table></section>`
    : ''
}
<section class="card"><table class="grid" id="users-table"><thead><tr><th>${t('username')}</th><th>${t('display_name')}</th><th>${t('role')}</th>
<th>${t('status')}</th><th>${t('valid_until')}</th><th></th></tr></thead><tbody>${list.map(
      (
        u,
      ) => html`<tr data-user="${u.username}" class="${u.active ? '' : 'muted'}"><td>${u.username}</td><td>${u.displayName}</td><td>${t(`role_${u.role}`)}</td>
<td>${u.active ? t('active') : t('inactive')}${u.locked ? html` <span class="tag bad">${t('locked_until', { time: fmtTime(v, u.lockedUntil) })}</span>` : ''}${u.mustChangePassword ? html` <span class="tag warn">${t('must_change_password')}</span>` : ''}${activationTag(v, u)}</td>
<td>${u.validUntil === null ? t('open_ended') : fmtDate(v, u.validUntil)}</td>
<td class="actions">${
        manage && u.id !== v.user.id && u.active
          ? html`<button type="button" class="danger" data-api="/api/users/${u.id}/disable" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('disable')}</button>
${u.locked ? html`<button type="button" data-api="/api/users/${u.id}/unlock" data-method="POST" data-then="reload">${t('unlock')}</button>` : ''}`
          : ''
      }</td></tr>${u.monitor ? monitorRow(v, u, manage) : ''}`,
    )}</tbody></table></section>
${
  may(v, 'requests.create')
    ? html`<section class="card"><h2>${t('request_account')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="account-request">
  <input type="hidden" name="kind" value="account_create">
  <label>${t('username')}<input name="payload.username" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{2,31}"></label>
  <label>${t('display_name')}<input name="payload.displayName" required maxlength="100"></label>
  <label>${t('role')}<select name="payload.role">${roles.map((r) => html`<option value="${r}">${t(`role_${r}`)}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form>
<h2>${t('request_role_change')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="role-request">
  <input type="hidden" name="kind" value="role_change">
  <label>${t('username')}<select name="payload.userId">${list.filter((u) => u.active).map((u) => html`<option value="${u.id}">${u.username}</option>`)}</select></label>
  <label>${t('role')}<select name="payload.role">${roles.map((r) => html`<option value="${r}">${t(`role_${r}`)}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form>
<h2>${t('request_password_reset')}</h2>
<p class="hint">${t('password_reset_hint')}</p>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="reset-request">
  <input type="hidden" name="kind" value="password_reset">
  <label>${t('username')}<select name="payload.userId">${list.filter((u) => u.active && u.id !== v.user.id).map((u) => html`<option value="${u.id}">${u.username}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></section>`
    : ''
}`,
  });
}
