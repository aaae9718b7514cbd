/** The accounts page: the list, and the forms that request a new account or a role change. */
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
}

export interface UsersView {
  users: readonly UserRowView[];
  /** The roles an account may be given. */
  roles: readonly string[];
}

export function usersPage(v: Shell, { users: list, roles }: UsersView): SafeHtml {
  const { t } = v;
  const manage = may(v, 'users.manage');
  return page(v, {
    title: t('users_title'),
    active: 'users',
    wide: true,
    body: html`<h1>${t('users_title')}</h1>
<section class="card"><table class="grid" id="users-table"><thead><tr><th>${t('username')}</th><th>${t('display_name')}</th><th>${t('role')}</th>
<th>${t('status')}</th><th>${t('valid_until')}</th><th></th></tr></thead><tbody>${list.map(
      (
        u,
      ) => html`<tr data-user="${u.username}" class="${u.active ? '' : 'muted'}"><td>${u.username}</td><td>${u.displayName}</td><td>${t(`role_${u.role}`)}</td>
<td>${u.active ? t('active') : t('inactive')}${u.locked ? html` <span class="tag bad">${t('locked_until', { time: fmtTime(v, u.lockedUntil) })}</span>` : ''}${u.mustChangePassword ? html` <span class="tag warn">${t('must_change_password')}</span>` : ''}</td>
<td>${u.validUntil === null ? t('open_ended') : fmtDate(v, u.validUntil)}</td>
<td class="actions">${
        manage && u.id !== v.user.id && u.active
          ? html`<button type="button" class="danger" data-api="/api/users/${u.id}/disable" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('disable')}</button>
${u.locked ? html`<button type="button" data-api="/api/users/${u.id}/unlock" data-method="POST" data-then="reload">${t('unlock')}</button>` : ''}
<button type="button" data-api="/api/users/${u.id}/reset-password" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('change_password')}</button>`
          : ''
      }</td></tr>`,
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
  ${formError}<button type="submit">${t('submit')}</button></form></section>`
    : ''
}`,
  });
}
