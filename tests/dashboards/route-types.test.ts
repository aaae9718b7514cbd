/**
 * A route's handler is given a principal typed by the route's `auth`: nullable only when public, and
 * a session (never an API token) unless some token scope holds the route's permission.
 */
import Fastify from 'fastify';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  ApiError,
  addRoute,
  type Ctx,
  type Guard,
  type Principal,
  type PrincipalFor,
  type SessionPrincipal,
} from '../../dashboards/http.js';
import { translator } from '../../dashboards/i18n.js';

const someone: Principal = {
  kind: 'token',
  token: { id: 't_1', name: 'reader', scopes: ['read'], secretHash: '0'.repeat(64) },
  actor: 'token:reader',
  session: null,
};

describe('route principal', () => {
  it('is typed by auth', () => {
    expectTypeOf<PrincipalFor<'public'>>().toEqualTypeOf<Principal | null>();
    // In a token scope: a session or a token.
    expectTypeOf<PrincipalFor<'log.read'>>().toEqualTypeOf<Principal>();
    expectTypeOf<PrincipalFor<'metrics.read'>>().toEqualTypeOf<Principal>();
    expectTypeOf<PrincipalFor<'sim.use'>>().toEqualTypeOf<Principal>();
    expectTypeOf<Ctx<object, object, object, 'log.read'>['principal']>().toEqualTypeOf<Principal>();
    // In no scope: only a logged-in user, so the handler may use `principal.user`.
    expectTypeOf<PrincipalFor<'people.read'>>().toEqualTypeOf<SessionPrincipal>();
    expectTypeOf<PrincipalFor<'self'>>().toEqualTypeOf<SessionPrincipal>();
    expectTypeOf<PrincipalFor<'alarms.ack'>>().toEqualTypeOf<SessionPrincipal>();
    expectTypeOf<PrincipalFor<'requests.create'>>().toEqualTypeOf<SessionPrincipal>();
    expectTypeOf<PrincipalFor<'badges.lost' | 'badges.revoke'>>().toEqualTypeOf<SessionPrincipal>();
  });

  const app = Fastify();
  afterAll(() => app.close());

  it('reaches a handler only as the guard let it through', async () => {
    app.decorate('sekishoRoutes', []);
    app.decorate('sekishoDefs', []);
    app.decorateRequest('principal', null);
    app.decorateRequest('lang', 'en');
    app.addHook('onRequest', async (req) => {
      req.principal = req.headers.authorization ? someone : null;
    });
    const guard: Guard = {
      translate: translator,
      check(req, def) {
        if (def.auth !== 'public' && !req.principal) throw new ApiError(401, 'unauthorized', 'log in first');
      },
    };
    addRoute(app, guard, {
      method: 'GET',
      url: '/open',
      auth: 'public',
      kind: 'json',
      tag: 't',
      summary: 'public',
      handler: ({ principal }) => {
        expectTypeOf(principal).toEqualTypeOf<Principal | null>();
        return { who: principal?.actor ?? null };
      },
    });
    addRoute(app, guard, {
      method: 'GET',
      url: '/closed',
      auth: 'log.read',
      kind: 'json',
      tag: 't',
      summary: 'protected',
      handler: ({ principal }) => {
        expectTypeOf(principal).toEqualTypeOf<Principal>();
        return { who: principal.actor };
      },
    });
    app.setErrorHandler((err: ApiError, _req, reply) =>
      reply.code(err.statusCode ?? 500).send({ code: err.code }),
    );
    await app.ready();
    expect((await app.inject({ url: '/open' })).json()).toEqual({ who: null });
    expect((await app.inject({ url: '/open', headers: { authorization: 'x' } })).json()).toEqual({
      who: 'token:reader',
    });
    const refused = await app.inject({ url: '/closed' });
    expect(refused.statusCode).toBe(401);
    expect((await app.inject({ url: '/closed', headers: { authorization: 'x' } })).json()).toEqual({
      who: 'token:reader',
    });
  });
});
