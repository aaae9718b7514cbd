/**
 * Dashboard accounts (POLICY §8(2)①②, §4(3)): the list; new accounts, role changes and password
 * resets are requests that an administrator other than the applicant approves; disabling is
 * immediate; an administrator can lift a lock-out (journaled).
 *
 * Dual control of account secrets: an approved new account or password reset has no usable
 * password until its user activates it at `/activate` with both halves of its activation secret —
 * one shown to the approver when approving, the other to the applicant here, once
 * (`POST /api/requests/:id/activation-half`). Nobody but the user ever knows the password.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  checkPasswordStrengthOffThread,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
} from '../../controller/accounts/passwords.js';
import { samePerson } from '../../controller/accounts/person.js';
import { ROLES } from '../../controller/accounts/roles.js';
import { type Activation, MonitorAddress, type User } from '../../controller/accounts/users.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute, IdParam, NumericIdParam, sameOrigin } from '../http.js';
import { activatePage } from '../pages/account.js';
import { usersPage } from '../pages/users.js';
import { shellOf } from '../views.js';

function activationView(a: Activation | undefined, now: number) {
  if (!a) return null;
  return {
    purpose: a.purpose,
    requestId: a.requestId,
    applicantShown: a.applicantShown,
    expiresAt: a.expiresAt,
    expired: a.expiresAt <= now,
  };
}

function userView(u: User, a: Activation | undefined, now: number) {
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
    /** Waiting for its user to set a password with both halves (null: none pending). */
    activation: activationView(a, now),
    /** A monitor's screen address and name masking (null for other roles). */
    monitor: u.monitor,
  };
}

const ActivationView = z
  .object({
    purpose: z.enum(['account_create', 'password_reset']),
    requestId: z.number(),
    applicantShown: z.boolean(),
    expiresAt: z.number(),
    expired: z.boolean(),
  })
  .nullable();

const UserView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.enum(ROLES),
  active: z.boolean(),
  validUntil: z.number().nullable(),
  mustChangePassword: z.boolean(),
  locked: z.boolean(),
  lockedUntil: z.number().nullable(),
  createdAt: z.number(),
  passwordChangedAt: z.number(),
  activation: ActivationView,
  monitor: z.object({ address: z.string().nullable(), maskNames: z.boolean() }).nullable(),
});

const Half = z.string().trim().min(1).max(64);

export function registerUserRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, users, sessions, requests } = dash;

  const requireUser = (id: string) => {
    const u = users.get(id);
    if (!u) throw new ApiError(404, 'not_found', `no account ${id}`);
    return u;
  };

  const list = () => {
    const now = dash.now();
    const pending = new Map(users.activations().map((a) => [a.userId, a]));
    return users.list().map((u) => userView(u, pending.get(u.id), now));
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/users',
    auth: 'users.read',
    kind: 'page',
    tag: 'users',
    summary: 'Accounts; request a new account, a role change or a password reset; one’s activation halves',
    handler: ({ t, lang, principal }) => {
      const now = dash.now();
      const all = list();
      // The applicant's halves not yet shown: of the viewer's own approved requests.
      const byId = new Map(all.map((u) => [u.id, u]));
      const halves = users
        .activations()
        .filter((a) => !a.applicantShown && a.expiresAt > now)
        .flatMap((a) => {
          const req = requests.get(a.requestId);
          const u = byId.get(a.userId);
          if (
            !req ||
            !u ||
            !(req.requestedBy === principal.actor || samePerson(req.requestedBy, principal.actor))
          )
            return [];
          return [
            { requestId: a.requestId, purpose: a.purpose, username: u.username, expiresAt: a.expiresAt },
          ];
        });
      return usersPage(shellOf(dash, { t, lang, principal }), { users: all, roles: ROLES, halves });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/users',
    auth: 'users.read',
    kind: 'json',
    tag: 'users',
    summary: 'Accounts (never their password hashes), with any pending activation',
    response: z.object({ users: z.array(UserView) }),
    handler: () => ({ users: list() }),
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
      return userView(users.get(u.id)!, users.activationOf(u.id), dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/unlock',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary:
      'Lift the delay that failed logins put on this account (journaled as `user_unlocked` with who did it); the password is unchanged',
    params: IdParam,
    handler: ({ params, principal }) => {
      const found = requireUser(params.id);
      dash.limiter.forgetAccount(found.username); // the name's delay after failed logins, in memory
      const u = users.unlock(found.id, principal.actor, dash.now());
      return userView(u, users.activationOf(u.id), dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/monitor',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary:
      'A monitor (wall screen): the one address its sessions may be used from, and whether it is shown names ' +
      '(journaled as `monitor_bound`). A new address ends its open sessions. 409 for an account that is not a monitor',
    params: IdParam,
    body: z.strictObject({ address: MonitorAddress, maskNames: z.boolean() }),
    response: UserView,
    handler: ({ params, body, principal }) => {
      const found = requireUser(params.id);
      const u = users.setMonitor(found.id, body, principal.actor, dash.now());
      dash.hub.notify();
      return userView(u, users.activationOf(u.id), dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/users/:id/revoke',
    auth: 'users.manage',
    kind: 'json',
    tag: 'users',
    summary:
      'End every session of a monitor at once (journaled as `monitor_revoked`); the screen must log in again. ' +
      'To stop it logging in again, disable the account',
    params: IdParam,
    response: z.object({ sessions: z.number() }),
    handler: ({ params, principal }) => {
      const found = requireUser(params.id);
      const r = users.revokeMonitor(found.id, principal.actor, dash.now());
      dash.hub.notify();
      return r;
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/activation-half',
    auth: 'requests.create',
    kind: 'json',
    tag: 'users',
    summary:
      'The applicant’s half of the activation secret of their approved account_create or password_reset request: ' +
      'shown once (409 after), only to the applicant, before the activation expires',
    params: NumericIdParam,
    response: z.object({
      requestId: z.number(),
      username: z.string(),
      activationHalf: z.string(),
      expiresAt: z.number(),
    }),
    handler: ({ params, principal }) => {
      const req = requests.get(params.id);
      if (!req || (req.kind !== 'account_create' && req.kind !== 'password_reset'))
        throw new ApiError(404, 'not_found', `no account request ${params.id}`);
      if (principal.kind !== 'session')
        throw new ApiError(403, 'forbidden', 'only the applicant, logged in, may see their half');
      if (req.requestedBy !== principal.actor && !samePerson(req.requestedBy, principal.actor))
        throw new ApiError(403, 'not_applicant', 'only the applicant of this request may see its half');
      if (req.status !== 'approved')
        throw new ApiError(409, 'conflict', `request ${req.id} is ${req.status}, not approved`);
      const shown = users.showApplicantHalf(req.id, principal.actor, dash.now());
      return {
        requestId: req.id,
        username: shown.user.username,
        activationHalf: shown.half,
        expiresAt: shown.expiresAt,
      };
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/activate',
    auth: 'public',
    kind: 'page',
    tag: 'session',
    summary:
      'First login or after a password reset: set one’s password with both halves of the activation secret',
    handler: ({ t, lang }) =>
      activatePage(
        { t, lang },
        { siteName: dash.controller.config.site.name, minPasswordLength: MIN_PASSWORD_LENGTH },
      ),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/activate',
    auth: 'public',
    kind: 'json',
    tag: 'session',
    summary:
      'Set one’s password with both halves of the activation secret (applicant’s and approver’s); the halves are then void. ' +
      '400 `invalid_activation` for a wrong name or half (the same answer either way), 410 `activation_expired`, ' +
      '403 `account_disabled`; every refusal is journaled (`activation_failed`)',
    body: z.strictObject({
      username: z.string().min(1).max(64),
      applicantHalf: Half,
      approverHalf: Half,
      password: z
        .string()
        .min(1)
        .max(MAX_PASSWORD_LENGTH * 4),
      confirm: z
        .string()
        .max(MAX_PASSWORD_LENGTH * 4)
        .optional(),
    }),
    response: z.object({ ok: z.literal(true), username: z.string() }),
    handler: async ({ req, reply, body }) => {
      if (!sameOrigin(req)) throw new ApiError(403, 'csrf_failed', 'cross-origin request refused');
      // Guessing is pointless (two halves of 100 bits each), but each try writes a journal row.
      const ticket = dash.limiter.admit(req.ip ?? 'unknown', body.username, dash.now());
      if (!ticket.ok) {
        reply.header('retry-after', String(Math.ceil(ticket.waitMs / 1000)));
        throw new ApiError(429, 'rate_limited', 'too many attempts; wait and retry', { scope: ticket.scope });
      }
      if (body.confirm !== undefined && body.confirm !== body.password) {
        dash.limiter.release(ticket);
        throw new ApiError(400, 'password_mismatch', 'the two new passwords differ');
      }
      // Judged on what was typed only, so the answer does not tell whether the name exists.
      const verdict = await checkPasswordStrengthOffThread(body.password, [body.username]);
      if (!verdict.ok && verdict.reason) {
        dash.limiter.release(ticket);
        throw new ApiError(400, 'weak_password', `password rejected: ${verdict.reason}`, {
          detail: verdict.reason,
          feedback: [verdict.warning, ...verdict.suggestions].filter((k) => k !== null),
        });
      }
      const r = await users.activate(body, req.ip ?? 'unknown', () => dash.now());
      if (r.ok) dash.limiter.release(ticket);
      else dash.limiter.fail(ticket, dash.now());
      if (!r.ok) {
        if (r.why === 'expired')
          throw new ApiError(
            410,
            'activation_expired',
            'this activation has expired; ask for a new password reset request',
          );
        if (r.why === 'disabled')
          throw new ApiError(403, 'account_disabled', 'this account is disabled or has expired');
        throw new ApiError(400, 'invalid_activation', 'wrong user name or activation half');
      }
      sessions.destroyUser(r.user.id);
      dash.hub.notify();
      return { ok: true as const, username: r.user.username };
    },
  });
}
