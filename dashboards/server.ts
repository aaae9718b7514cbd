/**
 * The controller's HTTP face: the infrastructure manager's dashboard (server-rendered pages in
 * Japanese and English with a small script, no build step), the JSON API behind it (zod on every
 * route, OpenAPI at /api/openapi.json), the live event stream, and `/healthz`.
 *
 * Security: server-side sessions (SQLite, idle and absolute timeouts) in an HttpOnly SameSite=Strict
 * cookie; a per-session CSRF token required on every change, plus an Origin check; roles checked on
 * the server for every route; CSP without 'unsafe-inline' and the usual headers; login delays
 * (auth/limiter.ts); HTTPS itself or behind a named proxy, and only under the names it is reached by
 * (Host, against DNS rebinding). Every route but the login page, the login call, the static assets
 * and /healthz (which then says only up or degraded) needs a session — or, for the JSON API and /metrics, a
 * named API token (`sekisho token create`) whose scopes hold the route's permission
 * (controller/accounts/roles.ts, `SCOPE_PERMISSIONS`).
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  DEFAULT_SCRYPT,
  generatePassword,
  hashPassword,
  type ScryptParams,
} from '../controller/accounts/passwords.js';
import { can } from '../controller/accounts/roles.js';
import { SessionStore } from '../controller/accounts/sessions.js';
import {
  type TokenCaller,
  type TokenProblem,
  TokenStore,
  tokenActor,
} from '../controller/accounts/tokens.js';
import { AccountError, actorOf, UserStore } from '../controller/accounts/users.js';
import { ApprovalError, RequestStore } from '../controller/approvals/requests.js';
import { LOOPBACK_NAMES } from '../controller/dashboard-transport.js';
import { recordOf } from '../controller/domain/index.js';
import { RegistryError } from '../controller/registry/index.js';
import { journalFile } from '../controller/storage.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './auth/limiter.js';
import type { Dash } from './context.js';
import { HostNames, hostOfHeader } from './hosts.js';
import { html } from './html.js';
import {
  ApiError,
  addRoute,
  type Guard,
  parseCookies,
  type RouteDef,
  SECURITY_HEADERS,
  type SessionPrincipal,
  safeEqual,
  sameOrigin,
  tokenMayCall,
} from './http.js';
import { pickLang, translator } from './i18n.js';
import { childVerifier, Integrity, type Verifier } from './integrity.js';
import { LiveHub } from './live.js';
import { LogIndex } from './logindex.js';
import { MonitorRefusals, monitorRefusal } from './monitor.js';
import { bare, page } from './pages/layout.js';
import { registerAlarmRoutes } from './routes/alarms.js';
import { LANG_COOKIE, registerAuthRoutes, SESSION_COOKIE } from './routes/auth.js';
import { registerIntegrityRoutes } from './routes/integrity.js';
import { registerLiveRoutes } from './routes/live.js';
import { registerLogRoutes } from './routes/log.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerPeopleRoutes } from './routes/people.js';
import { registerReportRoutes } from './routes/reports.js';
import { registerRequestRoutes } from './routes/requests.js';
import { registerRestoreRoutes } from './routes/restores.js';
import { registerSimRoutes } from './routes/sim.js';
import { registerStaticRoutes } from './routes/static.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerUserRoutes } from './routes/users.js';
import { registerWitnessRoutes } from './routes/witness.js';
import type { DashboardController } from './service.js';
import { shellOf } from './views.js';

export { ApiError } from './http.js';

export interface ServerOptions {
  controller: DashboardController;
  /** Idle timeout of a session. Default 15 minutes. */
  sessionIdleMs?: number;
  /** Absolute lifetime of a session. Default 12 hours. */
  sessionMaxAgeMs?: number;
  loginLimits?: Partial<LoginLimits>;
  /** scrypt cost for new passwords; tests lower it. Default N=2^15, r=8, p=1. */
  scrypt?: ScryptParams;
  /** Mark cookies Secure. HTTPS requests get it anyway. Default: true with `https` or `trustProxy`. */
  secureCookies?: boolean;
  /** Serve HTTPS with this certificate (chain) and key, PEM. */
  https?: { cert: string; key: string };
  /**
   * The reverse proxy's addresses (IPs, CIDR blocks): from them only, X-Forwarded-For gives the
   * client's address (rate limits, journal) and X-Forwarded-Proto the scheme.
   */
  trustProxy?: string[];
  /** The names the dashboard answers to (Host header). Default: the loopback names only. */
  hostnames?: HostNames;
  /** Walks the whole journal for "verify now". Default: a child process (docs/dashboard.md). */
  verifier?: Verifier;
  /** Coalescing of live updates, ms. Default 100. */
  liveCoalesceMs?: number;
  /** How long before the idle timeout pages warn. Default: `dashboard.sessionWarningSeconds`. */
  sessionWarningMs?: number;
  /** Absolute lifetime of a monitor's session (no idle timeout). Default: `dashboard.monitorSessionDays`. */
  monitorMaxAgeMs?: number;
  /** How long pages wait for their lost live stream before saying they are not updated. Default 20 s. */
  streamLostMs?: number;
}

/** The 401 message for a bearer token that was refused. */
const TOKEN_REFUSED: Record<TokenProblem, string> = {
  malformed: 'not an API token (expected sks_<name>_<secret>)',
  unknown: 'unknown or revoked API token',
  expired: 'the API token has expired (sekisho token rotate NAME --expires …)',
};

/** The words of an error code that has none of its own, by its HTTP status. */
function fallbackErrorKey(status: number): string {
  if (status === 401) return 'error_unauthorized';
  if (status === 403) return 'error_forbidden';
  if (status === 404) return 'error_not_found';
  if (status === 409) return 'error_conflict';
  if (status === 429) return 'error_rate_limited';
  if (status >= 500) return 'error_internal_error';
  return 'error_invalid_request';
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { controller } = opts;
  // Typed as the HTTP instance either way: no route or hook uses anything only one server has.
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
    ...(opts.trustProxy ? { trustProxy: opts.trustProxy } : {}),
  }) as unknown as FastifyInstance;
  const hosts = opts.hostnames ?? new HostNames(LOOPBACK_NAMES);
  app.decorate('sekishoHosts', hosts);
  const routes: { method: string; url: string }[] = [];
  app.decorate('sekishoRoutes', routes);
  app.decorate('sekishoDefs', []);
  app.decorateRequest('principal', null);
  app.decorateRequest('tokenProblem', null);
  app.decorateRequest('lang', 'ja');
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });

  // The dashboard's tables are migrated (and demo accounts made) by the process root first.
  const { db, journal } = controller;
  const scrypt = opts.scrypt ?? DEFAULT_SCRYPT;
  const users = new UserStore(db, journal, { scrypt });
  const tokens = new TokenStore(db, journal);
  const sessions = new SessionStore(db, {
    idleMs: opts.sessionIdleMs ?? 15 * 60_000,
    maxAgeMs: opts.sessionMaxAgeMs ?? 12 * 3_600_000,
  });
  const limiter = new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, ...opts.loginLimits });
  const index = new LogIndex(db, journal, () => controller.walRoom());
  const hub = new LiveHub(controller, { coalesceMs: opts.liveCoalesceMs });
  const integrity = new Integrity(
    journal,
    controller.secrets.publicKey,
    opts.verifier ?? childVerifier(journalFile(controller.storageDir), controller.secrets.publicKey),
  );
  const requests = new RequestStore({
    db,
    journal,
    registry: controller.registry,
    users,
    config: controller.config,
  });

  // A token asking for more than its scopes is a sign of misuse (or a stolen token being tried): it
  // is journaled, at most once a minute per token so that a loop cannot flood the journal.
  const refusals = new Map<string, { at: number; suppressed: number }>();
  const noteRefusal = (token: TokenCaller, def: RouteDef) => {
    const now = controller.now();
    const last = refusals.get(token.id);
    if (last && now - last.at < 60_000) {
      last.suppressed++;
      return;
    }
    refusals.set(token.id, { at: now, suppressed: 0 });
    try {
      dash.record('token_refused', tokenActor(token.name), {
        tokenId: token.id,
        name: token.name,
        method: def.method,
        route: def.url,
        permission: def.auth,
        suppressed: last?.suppressed ?? 0,
      });
    } catch (err) {
      // The refusal stands even when it cannot be journaled (a storage fault).
      controller.log.warn('token refusal not journaled', { error: String(err) });
    }
  };

  const guard: Guard = {
    translate: translator,
    check(req, def) {
      if (def.auth === 'public') return;
      const p = req.principal;
      if (!p)
        throw new ApiError(401, 'unauthorized', req.tokenProblem ?? 'log in first (or send an API token)');
      if (p.kind === 'token') {
        // A token holds its scopes' permissions on the API, nothing else; it never needs CSRF (a
        // browser does not send it by itself).
        if (!tokenMayCall(p.token.scopes, def)) {
          noteRefusal(p.token, def);
          throw new ApiError(
            403,
            'forbidden',
            def.kind === 'page'
              ? 'pages are for people: log in'
              : `the token "${p.token.name}" (scopes: ${p.token.scopes.join(', ')}) may not do this (${def.auth})`,
          );
        }
        return;
      }
      if (p.user.mustChangePassword && !def.allowMustChange)
        throw new ApiError(403, 'password_change_required', 'change your password first');
      if (!can(p.user.role, def.auth))
        throw new ApiError(403, 'forbidden', `your role (${p.user.role}) may not do this (${def.auth})`);
      if (def.method !== 'GET') checkCsrf(req, p);
    },
  };

  const dash: Dash = {
    controller,
    guard,
    users,
    sessions,
    tokens,
    limiter,
    requests,
    index,
    integrity,
    hub,
    tz: controller.config.timeZone,
    // Behind a proxy the browser speaks HTTPS even when the proxy's request to us is plain.
    secureCookies: opts.secureCookies ?? (opts.https !== undefined || opts.trustProxy !== undefined),
    simulated: controller.board.kind === 'sim',
    sessionWarningMs: opts.sessionWarningMs ?? controller.config.dashboard.sessionWarningSeconds * 1000,
    monitorMaxAgeMs: opts.monitorMaxAgeMs ?? controller.config.dashboard.monitorSessionDays * 86_400_000,
    streamLostMs: opts.streamLostMs ?? 20_000,
    monitorRefusals: new MonitorRefusals({ users, controller, now: () => controller.now() }),
    now: () => controller.now(),
    record(type, actor, data, extra = {}) {
      journal.append({
        ...recordOf(type, data),
        at: controller.now(),
        actor,
        door: extra.door ?? null,
        person: extra.person ?? null,
      });
      hub.notify();
    },
  };

  // Every response gets the security headers; only static assets may be cached.
  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    reply.header('cache-control', 'no-store');
    const cookies = parseCookies(req.headers.cookie);
    req.lang = pickLang(cookies[LANG_COOKIE], req.headers['accept-language']);
    req.principal = null;
    // Before any credential is looked at: a name this dashboard is not reached by is another site.
    checkHost(req, hosts);
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      // A request with a bearer token is that token's, whatever cookie it also carries.
      const bearer = /^Bearer +(\S+) *$/i.exec(authz)?.[1] ?? '';
      const r = tokens.authenticate(bearer, controller.now(), { from: req.ip });
      if (r.caller)
        req.principal = { kind: 'token', token: r.caller, actor: tokenActor(r.caller.name), session: null };
      else req.tokenProblem = TOKEN_REFUSED[r.problem];
      return;
    }
    const cookie = cookies[SESSION_COOKIE];
    if (!cookie) return;
    const now = controller.now();
    const touch = req.routeOptions.config?.touch ?? true;
    const r = sessions.resolve(cookie, now, touch);
    if (!r.session) return;
    const user = users.get(r.session.userId);
    if (!user?.active || (user.validUntil !== null && user.validUntil <= now)) {
      sessions.destroy(r.session.tokenHash);
      return;
    }
    // A wall screen's session works from its screen only: a copied cookie elsewhere is refused (and
    // journaled), and the screen itself keeps its session.
    const refusal = monitorRefusal(user, req.ip);
    if (refusal) throw dash.monitorRefusals.refuse(user, req.ip, refusal, 'session');
    req.principal = { kind: 'session', user, actor: actorOf(user), session: r.session };
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let status: number;
    let code: string;
    let message = err.message;
    let extra: Record<string, unknown> = {};
    // The screen's sentence for a refusal may name what it is about (who holds an ID card number).
    let textVars: Readonly<Record<string, string>> | undefined;
    if (err instanceof ApiError) {
      status = err.statusCode;
      code = err.code;
      extra = err.extra;
    } else if (err instanceof AccountError || err instanceof RegistryError || err instanceof ApprovalError) {
      code = err.code === 'invalid_input' ? 'invalid_request' : err.code;
      status =
        code === 'not_found'
          ? 404
          : code === 'invalid_request' || code === 'weak_password' || code === 'reason_required'
            ? 400
            : code === 'forbidden' || code === 'self_approval_refused' || code === 'no_person'
              ? 403
              : 409;
      if (err instanceof AccountError && err.detail) extra = { detail: err.detail };
      if (err instanceof RegistryError && err.vars) textVars = err.vars;
    } else {
      status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      code =
        status === 500
          ? 'internal_error'
          : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || status === 400
            ? 'invalid_request'
            : (err.code ?? 'bad_request').toLowerCase();
      if (status === 500) {
        controller.log.error('http handler failed', { error: err.stack ?? String(err) });
        message = 'internal error';
      }
    }
    const lang = req.lang ?? 'ja';
    const t = translator(lang);
    if (req.routeOptions?.config?.kind === 'page' && req.method === 'GET') {
      if (status === 401)
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(
            bare(
              { t, lang },
              {
                title: t('login_title'),
                refreshTo: `/login?next=${encodeURIComponent(req.url)}`,
                body: html`<p class="card"><a href="/login">${t('please_login')}</a></p>`,
              },
            ).value,
          );
      if (code === 'password_change_required') return reply.redirect('/account', 303);
      const text =
        status === 403
          ? t('forbidden_page')
          : status === 404
            ? t('not_found_page')
            : code === 'unknown_host'
              ? t('error_unknown_host')
              : t('error_page');
      // The English message adds specifics on an English page only (docs/glossary.md, Errors).
      const body = html`<h1>${status}</h1><p class="notice bad" data-code="${code}">${text}</p>${lang === 'en' ? html`<p class="detail">${message}</p>` : ''}`;
      const shell =
        req.principal?.kind === 'session'
          ? page(shellOf(dash, { t, lang, principal: req.principal }), {
              title: String(status),
              active: '',
              body,
            })
          : bare({ t, lang }, { title: String(status), body });
      return reply.code(status).type('text/html; charset=utf-8').send(shell.value);
    }
    const key = `error_${code}`;
    const localized = t(key, textVars);
    const detailKey = typeof extra.detail === 'string' ? extra.detail : null;
    // A refused password also carries the strength estimator's feedback, as i18n keys.
    const feedback = Array.isArray(extra.feedback)
      ? extra.feedback.filter((k): k is string => typeof k === 'string')
      : [];
    const detail = detailKey ? [detailKey, ...feedback].map((k) => t(k, { min: 12 })).join(' ') : null;
    // `text` is in the screen's language only (docs/glossary.md, Errors): a code without words of its
    // own says what kind of refusal it is in Japanese, never the English `message`.
    const text =
      localized !== key
        ? detail
          ? `${localized} ${detail}`
          : localized
        : lang === 'ja'
          ? t(fallbackErrorKey(status))
          : message;
    return reply.code(status).send({ error: { code, message, text, ...extra } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: 'not_found',
        message: 'no such route',
        text: translator(req.lang ?? 'ja')('error_not_found'),
      },
    }),
  );

  // The details are for whoever the guard lets read the Live page (a session, or a token so scoped).
  const mayReadDetails = (req: FastifyRequest): boolean => {
    if (!req.principal) return false;
    try {
      guard.check(req, { ...HEALTH_DETAILS, handler: () => undefined });
      return true;
    } catch {
      return false;
    }
  };
  addRoute(app, guard, {
    method: 'GET',
    url: '/healthz',
    auth: 'public',
    kind: 'json',
    tag: 'status',
    summary:
      'Up or degraded (200 / 503). Without credentials only `{"status"}`; with a session or token ' +
      'holding live.read also the journal head, readers, clock and the MQTT link.',
    response: HealthBody,
    handler: ({ req, reply }) => {
      const s = controller.status();
      const ok = s.journal.storageOk;
      reply.code(ok ? 200 : 503);
      const status = ok ? ('ok' as const) : ('degraded' as const);
      if (!mayReadDetails(req)) return { status };
      return {
        status,
        controllerId: s.controllerId,
        version: s.version,
        board: s.board,
        journal: { headSeq: s.journal.headSeq, storageOk: s.journal.storageOk },
        readersOnline: s.readers.filter((r) => r.online).length,
        readers: s.readers.length,
        clockSynced: s.clockSynced,
        // The broker connection: an unreachable broker does not make the controller unhealthy.
        mqtt: {
          configured: s.mqtt.configured,
          connected: s.mqtt.connected,
          backlog: s.mqtt.backlog,
          lastError: s.mqtt.lastError,
        },
      };
    },
  });

  const dummyHash = await hashPassword(generatePassword(), scrypt);
  registerStaticRoutes(app, dash);
  registerAuthRoutes(app, dash, dummyHash);
  registerLiveRoutes(app, dash);
  registerLogRoutes(app, dash);
  registerAlarmRoutes(app, dash);
  registerPeopleRoutes(app, dash);
  registerRequestRoutes(app, dash);
  registerIntegrityRoutes(app, dash);
  registerWitnessRoutes(app, dash);
  registerReportRoutes(app, dash);
  registerRestoreRoutes(app, dash);
  registerUserRoutes(app, dash);
  registerTokenRoutes(app, dash);
  if (dash.simulated) registerSimRoutes(app, dash);
  registerMetricsRoutes(app, dash);
  registerOpenApi(app, dash);

  // Keep the log index close to the journal's head, in small batches off the critical path. The
  // first run (a whole existing journal) goes on in the background; log queries wait for it.
  const syncIndex = () =>
    index
      .sync()
      .catch((err: unknown) => controller.log.error('log index sync failed', { error: String(err) }));
  const indexTimer = setInterval(syncIndex, 10_000);
  indexTimer.unref();
  app.addHook('onClose', async () => {
    clearInterval(indexTimer);
    hub.close();
  });
  void syncIndex();

  return app;
}

/** What /healthz's details need: the Live page's right, through the same guard as every route. */
const HEALTH_DETAILS = {
  method: 'GET',
  url: '/healthz',
  auth: 'live.read',
  kind: 'json',
  tag: 'status',
  summary: 'the details of /healthz',
} as const;

const HealthBody = z.object({
  status: z.enum(['ok', 'degraded']),
  controllerId: z.string().optional(),
  version: z.string().optional(),
  board: z.string().optional(),
  journal: z.object({ headSeq: z.number(), storageOk: z.boolean() }).optional(),
  readersOnline: z.number().optional(),
  readers: z.number().optional(),
  clockSynced: z.boolean().nullable().optional(),
  mqtt: z
    .object({
      configured: z.boolean(),
      connected: z.boolean(),
      backlog: z.number(),
      lastError: z.string().nullable(),
    })
    .optional(),
});

/**
 * 400 without a Host, 421 for a name the dashboard is not reached by. The answer does not list
 * the names: a rebinding page could read it.
 */
function checkHost(req: FastifyRequest, hosts: HostNames): void {
  const name = hostOfHeader(req.headers.host);
  if (name === null)
    throw new ApiError(400, 'bad_host', 'the request has no Host header, or a malformed one');
  if (!hosts.allows(name))
    throw new ApiError(
      421,
      'unknown_host',
      `this dashboard is not reached by the name "${name}" (Host header): use one of the names in dashboard.hostnames (docs/config.md)`,
    );
}

function checkCsrf(req: FastifyRequest, p: SessionPrincipal): void {
  const header = req.headers['x-csrf-token'];
  const given = typeof header === 'string' ? header : '';
  if (!given || !safeEqual(given, p.session.csrfToken))
    throw new ApiError(403, 'csrf_failed', 'missing or wrong x-csrf-token header');
  if (!sameOrigin(req)) throw new ApiError(403, 'csrf_failed', 'cross-origin request refused');
}
