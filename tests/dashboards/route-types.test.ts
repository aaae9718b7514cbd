/** A route's handler is given a principal typed by the route's `auth`: nullable only when public. */
import Fastify from 'fastify';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  ApiError,
  addRoute,
  type Ctx,
  type Guard,
  type Principal,
  type PrincipalFor,
} from '../../dashboards/http.js';
import { translator } from '../../dashboards/i18n.js';
import { TOKEN_USER } from '../../dashboards/server.js';

const someone: Principal = {
  kind: 'token',
  user: TOKEN_USER,
  actor: 'api-token',
  session: null,
};

describe('route principal', () => {
  it('is typed by auth', () => {
    expectTypeOf<PrincipalFor<'public'>>().toEqualTypeOf<Principal | null>();
    expectTypeOf<PrincipalFor<'people.read'>>().toEqualTypeOf<Principal>();
    expectTypeOf<PrincipalFor<'self'>>().toEqualTypeOf<Principal>();
    expectTypeOf<PrincipalFor<'badges.lost' | 'badges.revoke'>>().toEqualTypeOf<Principal>();
    expectTypeOf<Ctx<object, object, object, 'log.read'>['principal']>().toEqualTypeOf<Principal>();
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
      who: 'api-token',
    });
    const refused = await app.inject({ url: '/closed' });
    expect(refused.statusCode).toBe(401);
    expect((await app.inject({ url: '/closed', headers: { authorization: 'x' } })).json()).toEqual({
      who: 'api-token',
    });
  });
});
