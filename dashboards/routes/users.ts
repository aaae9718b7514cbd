/**
 * Dashboard accounts (POLICY §8(2)①②): the list; new accounts and role changes are requests that
 * an administrator other than the applicant approves; disabling is immediate; an administrator can
 * lift a lock-out or reset a forgotten password (a one-time password the user must change).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { generatePassword } from '../../controller/accounts/passwords.js';
import { can, ROLES } from '../../controller/accounts/roles.js';
import type { User } from '../../controller/accounts/users.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute, IdParam } from '../http.js';
import { usersPage } from '../pages/users.js';
import { shellOf } from '../views.js';

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
      const now = dash.now();
      return usersPage(shellOf(dash, { t, lang, principal }), {
        users: users.list().map((u) => userView(u, now)),
        roles: ROLES,
      });
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
    summary: 'Lift the delay that failed logins put on this account (journaled as user_unlocked)',
    params: IdParam,
    handler: ({ params, principal }) => {
      const u = requireUser(params.id);
      dash.limiter.forgetAccount(u.username); // the name's delay after failed logins, in memory
      return userView(users.unlock(u.id, principal.actor, dash.now()), dash.now());
    },
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
