/**
 * Dashboard accounts (POLICY §8(2)①②): the list; new accounts and role changes are requests that
 * an administrator other than the applicant approves; disabling is immediate; an administrator can
 * lift a lock-out or reset a forgotten password (a one-time password the user must change).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { generatePassword } from '../auth/passwords.js';
import { can, ROLES } from '../auth/roles.js';
import type { User } from '../auth/users.js';
import type { Dash } from '../context.js';
import { html } from '../html.js';
import { ApiError, addRoute, IdParam } from '../http.js';
import { fmtDate, fmtTime, formError, page } from '../pages/layout.js';

function userView(u: User, now: number) {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    active: u.active,
    validUntil: u.validUntil,
    mustChangePassword: u.mustChangePassword,
    locked: u.lockedUntil !== null && u.lockedUntil > now,
    lockedUntil: u.lockedUntil,
    createdAt: u.createdAt,
    passwordChangedAt: u.passwordChangedAt,
  };
}

export function registerUserRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, users, sessions } = dash;

  const requireUser = (id: string) => {
    const u = users.get(id);
    if (!u) throw new ApiError(404, 'not_found', `no account ${id}`);
    return u;
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/users',
    auth: 'users.read',
    kind: 'page',
    tag: 'users',
    summary: 'Accounts; request a new account or a role change',
    handler: ({ t, lang, principal }) => {
      const p = principal;
      const now = dash.now();
      const list = users.list().map((u) => userView(u, now));
      const manage = can(p.user.role, 'users.manage');
      return page(
        { dash, t, lang, principal: p },
        {
          title: t('users_title'),
          active: 'users',
          wide: true,
          body: html`<h1>${t('users_title')}</h1>
<section class="card"><table class="grid" id="users-table"><thead><tr><th>${t('username')}</th><th>${t('display_name')}</th><th>${t('role')}</th>
<th>${t('status')}</th><th>${t('valid_until')}</th><th></th></tr></thead><tbody>${list.map(
            (
              u,
            ) => html`<tr data-user="${u.username}" class="${u.active ? '' : 'muted'}"><td>${u.username}</td><td>${u.displayName}</td><td>${t(`role_${u.role}`)}</td>
<td>${u.active ? t('active') : t('inactive')}${u.locked ? html` <span class="tag bad">${t('locked_until', { time: fmtTime(dash, u.lockedUntil) })}</span>` : ''}${u.mustChangePassword ? html` <span class="tag warn">${t('must_change_password')}</span>` : ''}</td>
<td>${u.validUntil === null ? t('open_ended') : fmtDate(dash, u.validUntil)}</td>
<td class="actions">${
              manage && u.id !== p.user.id && u.active
                ? html`<button type="button" class="danger" data-api="/api/users/${u.id}/disable" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('disable')}</button>
${u.locked ? html`<button type="button" data-api="/api/users/${u.id}/unlock" data-method="POST" data-then="reload">${t('unlock')}</button>` : ''}
<button type="button" data-api="/api/users/${u.id}/reset-password" data-method="POST" data-confirm="${t('confirm_action')}" data-then="reload">${t('change_password')}</button>`
                : ''
            }</td></tr>`,
          )}</tbody></table></section>
${
  can(p.user.role, 'requests.create')
    ? html`<section class="card"><h2>${t('request_account')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="account-request">
  <input type="hidden" name="kind" value="account_create">
  <label>${t('username')}<input name="payload.username" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{2,31}"></label>
  <label>${t('display_name')}<input name="payload.displayName" required maxlength="100"></label>
  <label>${t('role')}<select name="payload.role">${ROLES.map((r) => html`<option value="${r}">${t(`role_${r}`)}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form>
<h2>${t('request_role_change')}</h2>
<form data-api="/api/requests" data-method="POST" data-then="/requests" class="grid-form" id="role-request">
  <input type="hidden" name="kind" value="role_change">
  <label>${t('username')}<select name="payload.userId">${list.filter((u) => u.active).map((u) => html`<option value="${u.id}">${u.username}</option>`)}</select></label>
  <label>${t('role')}<select name="payload.role">${ROLES.map((r) => html`<option value="${r}">${t(`role_${r}`)}</option>`)}</select></label>
  <label class="wide">${t('request_reason')}<input name="reason" required maxlength="500"></label>
  ${formError}<button type="submit">${t('submit')}</button></form></section>`
    : ''
}`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/users',
    auth: 'users.read',
    kind: 'json',
    tag: 'users',
    summary: 'Accounts (never their password hashes)',
    handler: () => ({ users: users.list().map((u) => userView(u, dash.now())) }),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/disable',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary: 'Disable an account at once (no approval); its sessions end',
    params: IdParam,
    handler: ({ params, principal }) => {
      const u = requireUser(params.id);
      if (u.id === principal.user.id)
        throw new ApiError(409, 'conflict', 'you cannot disable your own account');
      users.setActive(u.id, false, principal.actor, dash.now());
      sessions.destroyUser(u.id);
      return userView(users.get(u.id)!, dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/unlock',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary: 'Lift a lock-out after failed logins',
    params: IdParam,
    handler: ({ params, principal }) =>
      userView(users.unlock(requireUser(params.id).id, principal.actor, dash.now()), dash.now()),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/reset-password',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary:
      'Reset a forgotten password: a one-time password (shown once) that must be changed at the next login',
    params: IdParam,
    response: z.object({ username: z.string(), initialPassword: z.string() }),
    handler: async ({ params, principal }) => {
      const u = requireUser(params.id);
      if (u.id === principal.user.id)
        throw new ApiError(409, 'conflict', 'change your own password on /account');
      // §4(3): whoever learns an approver's one-time password could approve as them, so one
      // approver can never reset another's here; that is done on the device (`sekisho user passwd`).
      if (can(u.role, 'requests.approve') || can(u.role, 'accounts.approve'))
        throw new ApiError(
          403,
          'approver_reset_refused',
          `${u.username} approves requests: reset their password on the device with "sekisho user passwd"`,
        );
      const password = generatePassword();
      await users.setPassword(u.id, password, principal.actor, dash.now(), { mustChange: true });
      sessions.destroyUser(u.id);
      return { username: u.username, initialPassword: password };
    },
  });
}
