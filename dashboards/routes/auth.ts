/** Logging in and out, the session, and one's own account (password change). */

import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  checkPasswordStrengthOffThread,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from '../../controller/accounts/passwords.js';
import { Role } from '../../controller/accounts/roles.js';
import { actorOf, type User } from '../../controller/accounts/users.js';
import { nameKey } from '../auth/limiter.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute, Ok, parseCookies, safeEqual, sameOrigin, serializeCookie } from '../http.js';
import { monitorRefusal } from '../monitor.js';
import { accountPage, loginPage } from '../pages/account.js';
import { shellOf } from '../views.js';

export const SESSION_COOKIE = 'sekisho_session';
export const LANG_COOKIE = 'sekisho_lang';
/** Marks a browser where a name logged in before (docs/dashboard.md, login limits). */
export const DEVICE_COOKIE = 'sekisho_device';
/** Device tokens one browser keeps (one per name logged in with, newest first). */
const MAX_DEVICE_TOKENS = 4;

/**
 * Device tokens: `<id>.<mac>`, the MAC (HMAC-SHA-256 under a key made at each start) binding the
 * id to one user name, so a token opens nothing for another name and cannot be forged. Checking
 * them costs the same whether the name exists or not.
 */
class DeviceTokens {
  readonly #key = randomBytes(32);

  #mac(username: string, id: string): string {
    return createHmac('sha256', this.#key)
      .update(`${nameKey(username)}\n${id}`)
      .digest('base64url');
  }

  /** The tokens the request carries. */
  of(req: FastifyRequest): string[] {
    const raw = parseCookies(req.headers.cookie)[DEVICE_COOKIE];
    return raw ? raw.split('~').slice(0, MAX_DEVICE_TOKENS) : [];
  }

  /** The id of the token made for `username`, if one is there and valid. */
  idFor(tokens: string[], username: string): string | null {
    let found: string | null = null;
    for (const t of tokens) {
      const [id = '', mac = ''] = t.split('.');
      if (/^[\w-]{22}$/.test(id) && safeEqual(mac, this.#mac(username, id)) && found === null) found = id;
    }
    return found;
  }

  /** The cookie's new value after a login of `username`: its token first (the same id if it had one). */
  after(tokens: string[], username: string, id: string | null): string {
    const mine = id ?? randomBytes(16).toString('base64url');
    const others = tokens.filter((t) => !t.startsWith(`${mine}.`) && this.idFor([t], username) === null);
    return [`${mine}.${this.#mac(username, mine)}`, ...others].slice(0, MAX_DEVICE_TOKENS).join('~');
  }
}

const Me = z.object({
  user: z.object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    role: Role,
    mustChangePassword: z.boolean(),
  }),
  csrfToken: z.string().nullable(),
  expiresAt: z.number().nullable(),
});

const SessionState = z.object({
  now: z.number(),
  idleExpiresAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
  warnMs: z.number(),
});

function me(user: User, csrf: string | null, expiresAt: number | null): z.infer<typeof Me> {
  return {
    user: {
      id: user.id,
      username: user.username,
      displayName: user.displayName,
      role: user.role,
      mustChangePassword: user.mustChangePassword,
    },
    csrfToken: csrf,
    expiresAt,
  };
}

/** Same-origin redirect targets only. */
function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

function clientIp(req: FastifyRequest): string {
  return req.ip ?? 'unknown';
}

/**
 * `dummyHash`: a hash made with the accounts' scrypt parameters, checked for unknown user names so
 * that their answer takes as long as a real account's.
 */
export function registerAuthRoutes(app: FastifyInstance, dash: Dash, dummyHash: string): void {
  const { guard, users, sessions, limiter } = dash;
  const devices = new DeviceTokens();

  addRoute(app, guard, {
    method: 'GET',
    url: '/login',
    auth: 'public',
    kind: 'page',
    tag: 'session',
    summary: 'The login page',
    query: z.object({ next: z.string().max(500).optional() }),
    handler: ({ t, lang, query, principal, reply }) => {
      if (principal) return reply.redirect(safeNext(query.next), 303);
      return loginPage(
        { t, lang },
        { siteName: dash.controller.config.site.name, next: safeNext(query.next) },
      );
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/session',
    auth: 'public',
    kind: 'json',
    tag: 'session',
    summary:
      'Log in. Answers the session cookie and the CSRF token to send as `x-csrf-token` on every change. ' +
      'Failures delay further attempts from the same address, and from addresses new to the account; ' +
      'an unknown user name is answered exactly like a wrong password.',
    body: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
    response: Me,
    handler: async ({ req, reply, body }) => {
      // Login CSRF: a form on another site cannot log a browser in (SameSite cookie, JSON body, Origin).
      if (!sameOrigin(req)) throw new ApiError(403, 'csrf_failed', 'cross-origin request refused');
      const ip = clientIp(req);
      const tokens = devices.of(req);
      const device = devices.idFor(tokens, body.username);
      const gate = limiter.admit(ip, body.username, dash.now(), device);
      if (!gate.ok) {
        const seconds = Math.max(1, Math.ceil(gate.waitMs / 1000));
        reply.header('retry-after', String(seconds));
        throw new ApiError(
          429,
          'rate_limited',
          gate.scope === 'address'
            ? `too many failed logins from this address; retry in ${seconds} s`
            : `too many failed logins on this account from new addresses; retry in ${seconds} s, or log in from where you logged in before`,
          { scope: gate.scope },
        );
      }
      try {
        // Whether the name exists or not, and whatever the account's state, a wrong password gets
        // the same checks in the same order: one lookup, one scrypt with the current parameters,
        // one journal transaction, one answer.
        const found = users.loginLookup(body.username);
        const right = await verifyPassword(body.password, found?.passwordHash ?? dummyHash);
        const at = dash.now();
        const user = right ? found?.user : undefined;
        if (!user) {
          const f = limiter.fail(gate, at);
          users.recordLoginFailure(found?.user ?? null, at, ip, {
            failures: f.failures,
            reason: 'password',
            throttledDelayMs: f.throttled ? f.accountDelayMs : null,
          });
          throw new ApiError(401, 'invalid_credentials', 'wrong user name or password');
        }
        // Only someone who knows the password learns that the account is disabled or has ended.
        if (!user.active || (user.validUntil !== null && user.validUntil <= at)) {
          const f = limiter.fail(gate, at);
          users.recordLoginFailure(user, at, ip, {
            failures: f.failures,
            reason: 'disabled',
            throttledDelayMs: f.throttled ? f.accountDelayMs : null,
          });
          throw new ApiError(403, 'account_disabled', 'this account is disabled or has expired');
        }
        // A wall screen logs in from its screen only; the password alone is not enough elsewhere.
        const refusal = monitorRefusal(user, ip);
        if (refusal) {
          limiter.fail(gate, at);
          throw dash.monitorRefusals.refuse(user, ip, refusal, 'login');
        }
        limiter.succeed(gate, at);
        users.recordLogin(user.id, at, ip);
        const monitor = user.role === 'monitor';
        const { token, session } = sessions.create(
          user.id,
          at,
          monitor ? { maxAgeMs: dash.monitorMaxAgeMs, idleExempt: true } : {},
        );
        const secure = dash.secureCookies || req.protocol === 'https';
        reply.header('set-cookie', [
          serializeCookie(SESSION_COOKIE, token, {
            secure,
            maxAgeS: Math.floor((session.expiresAt - at) / 1000),
          }),
          // Only the login route reads it, so only the login route gets it.
          [
            `${DEVICE_COOKIE}=${devices.after(tokens, user.username, device)}`,
            'Path=/api/session',
            'SameSite=Strict',
            `Max-Age=${Math.floor(limiter.limits.knownMs / 1000)}`,
            'HttpOnly',
            ...(secure ? ['Secure'] : []),
          ].join('; '),
        ]);
        return me(user, session.csrfToken, session.expiresAt);
      } finally {
        limiter.release(gate);
      }
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/session',
    auth: 'self',
    kind: 'json',
    tag: 'session',
    summary: 'Who is logged in, and the CSRF token of this session',
    allowMustChange: true,
    response: Me,
    handler: ({ principal }) =>
      me(principal.user, principal.session?.csrfToken ?? null, principal.session?.expiresAt ?? null),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/session/state',
    auth: 'self',
    kind: 'json',
    tag: 'session',
    touch: false,
    summary:
      'When this session ends if nothing is done (`idleExpiresAt`, null for a monitor, which has no idle timeout) ' +
      'and in any case (`expiresAt`), and how long before the idle end pages warn (`warnMs`). Asking does not ' +
      'keep the session alive; any other request does (`GET /api/session`: "stay signed in").',
    allowMustChange: true,
    response: SessionState,
    handler: ({ principal }) => {
      const s = principal.session;
      return {
        now: dash.now(),
        idleExpiresAt: s ? sessions.idleExpiresAt(s) : null,
        expiresAt: s?.expiresAt ?? null,
        warnMs: dash.sessionWarningMs,
      };
    },
  });

  addRoute(app, guard, {
    method: 'DELETE',
    url: '/api/session',
    auth: 'self',
    kind: 'json',
    tag: 'session',
    summary: 'Log out (ends this session)',
    allowMustChange: true,
    response: Ok,
    handler: ({ principal, reply }) => {
      const p = principal;
      if (p.session) {
        sessions.destroy(p.session.tokenHash);
        users.recordLogout(p.user, dash.now());
      }
      reply.header(
        'set-cookie',
        serializeCookie(SESSION_COOKIE, '', { maxAgeS: 0, secure: dash.secureCookies }),
      );
      return { ok: true as const };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/me/password',
    auth: 'self',
    kind: 'json',
    tag: 'session',
    summary: 'Change one’s own password; other sessions of the account end',
    allowMustChange: true,
    body: z.strictObject({ current: z.string().min(1).max(1024), next: z.string().min(1).max(1024) }),
    response: Ok,
    handler: async ({ principal, body }) => {
      const p = principal;
      if (p.kind !== 'session') throw new ApiError(403, 'forbidden', 'the API token has no password');
      const ok = await verifyPassword(body.current, users.passwordHashOf(p.user.id) ?? '');
      if (!ok) throw new ApiError(403, 'invalid_credentials', 'the current password is wrong');
      if (body.current === body.next)
        throw new ApiError(400, 'weak_password', 'the new password must differ from the current one', {
          detail: 'password_same',
        });
      const verdict = await checkPasswordStrengthOffThread(body.next, [
        p.user.username,
        p.user.displayName,
        dash.controller.config.site.name,
      ]);
      if (!verdict.ok && verdict.reason)
        throw new ApiError(400, 'weak_password', `password rejected: ${verdict.reason}`, {
          detail: verdict.reason,
          feedback: [verdict.warning, ...verdict.suggestions].filter((k) => k !== null),
        });
      await users.setPassword(p.user.id, body.next, actorOf(p.user), dash.now(), { mustChange: false });
      if (p.session) sessions.destroyOthers(p.user.id, p.session.tokenHash);
      return { ok: true as const };
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/account',
    auth: 'self',
    kind: 'page',
    tag: 'session',
    summary: 'One’s own account: change the password',
    allowMustChange: true,
    handler: ({ t, lang, principal }) =>
      accountPage(shellOf(dash, { t, lang, principal }), { minPasswordLength: MIN_PASSWORD_LENGTH }),
  });
}
