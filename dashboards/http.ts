/**
 * The dashboard's route table. Every route is declared with its method, URL, who may call it (a
 * permission, or `public`), zod schemas for its params, query and body, and a summary: the same
 * declaration checks the request on the server, documents the route in OpenAPI and lets the tests
 * enumerate every route with the right it needs.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  type Permission,
  type Scope,
  scopesAllow,
  type TokenPermission,
} from '../controller/accounts/roles.js';
import type { Session } from '../controller/accounts/sessions.js';
import type { TokenCaller } from '../controller/accounts/tokens.js';
import type { User } from '../controller/accounts/users.js';
import { hostOfHeader } from './hosts.js';
import type { Lang, Translate } from './i18n.js';

/** Errors carry a stable `code` clients can rely on, and a human `message`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const first = r.error.issues[0]!;
    const path = first.path.length ? `${where}.${first.path.join('.')}` : where;
    // A refusal with a bilingual wording of its own (e.g. a name with a bidirectional override).
    const i18n = first.code === 'custom' ? (first.params as { i18n?: unknown } | undefined)?.i18n : undefined;
    // `field`: the body's field at fault, for the page to mark it (aria-invalid) beside the message.
    const field = where === 'body' && first.path.length ? { field: first.path.join('.') } : {};
    throw new ApiError(400, 'invalid_request', `${path}: ${first.message}`, {
      ...(typeof i18n === 'string' ? { detail: i18n } : {}),
      ...field,
    });
  }
  return r.data;
}

/** A logged-in user. */
export interface SessionPrincipal {
  kind: 'session';
  user: User;
  /** What journal rows name as the actor: `user:<username>`. */
  actor: string;
  session: Session;
  token?: undefined;
}

/** An API token: no account, no person; only the permissions of its scopes. */
export interface TokenPrincipal {
  kind: 'token';
  token: TokenCaller;
  /** What journal rows name as the actor: `token:<name>`. */
  actor: string;
  session: null;
  user?: undefined;
}

/** Who is calling: a logged-in user, or a named API token. */
export type Principal = SessionPrincipal | TokenPrincipal;

export type Auth = 'public' | Permission;
/** `text`: a plain-text answer (the Prometheus metrics); errors are JSON as for `json`. */
export type RouteKind = 'json' | 'page' | 'stream' | 'text';
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * The caller a handler is given: on a public route maybe nobody; on any other the guard has already
 * refused a request without one (401), so the handler gets a principal, never null — and a user,
 * never a token, unless some token scope holds the route's permission.
 */
export type PrincipalFor<A extends Auth> = A extends 'public'
  ? Principal | null
  : A extends TokenPermission
    ? Principal
    : SessionPrincipal;

/** Whether a token with these scopes may call the route: its permission is in a scope, and it is no page. */
export function tokenMayCall(scopes: readonly Scope[], def: Pick<RouteDef, 'auth' | 'kind'>): boolean {
  return def.auth !== 'public' && def.kind !== 'page' && scopesAllow(scopes, def.auth);
}

export interface Ctx<P, Q, B, A extends Auth = Auth> {
  req: FastifyRequest;
  reply: FastifyReply;
  params: P;
  query: Q;
  body: B;
  principal: PrincipalFor<A>;
  lang: Lang;
  t: Translate;
}

export interface RouteDef<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  A extends Auth = Auth,
> {
  method: Method;
  url: string;
  auth: A;
  kind: RouteKind;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The JSON answer, for the OpenAPI document. */
  response?: z.ZodType;
  /** The content type of a non-JSON answer (CSV, event stream, HTML). */
  produces?: string;
  /** Does this request count as activity for the idle timeout? Default true (an event stream: false). */
  touch?: boolean;
  /** May a user who must change their password call it? Default false. */
  allowMustChange?: boolean;
  /** The largest request body in bytes, when a route takes more than the server's default (an upload). */
  bodyLimit?: number;
  handler: (ctx: Ctx<z.output<P>, z.output<Q>, z.output<B>, A>) => unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Why a bearer token sent with the request was refused (for the 401's message). */
    tokenProblem: string | null;
    lang: Lang;
  }
  interface FastifyContextConfig {
    kind?: RouteKind;
    touch?: boolean;
  }
  interface FastifyInstance {
    /** Every route fastify registered (HEAD excluded), so tests can prove each one is protected. */
    sekishoRoutes: { method: string; url: string }[];
    /** The declarations of the dashboard's routes. */
    sekishoDefs: RouteDef[];
  }
}

/** What the route guard needs from the server. */
export interface Guard {
  /** 401 / 403 / CSRF checks for a declared route; throws ApiError. */
  check(req: FastifyRequest, def: RouteDef): void;
  translate(lang: Lang): Translate;
}

export function addRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends Auth>(
  app: FastifyInstance,
  guard: Guard,
  def: RouteDef<P, Q, B, A>,
): void {
  app.sekishoDefs.push(def as unknown as RouteDef);
  app.route({
    method: def.method,
    url: def.url,
    config: { kind: def.kind, touch: def.touch ?? true },
    ...(def.bodyLimit !== undefined ? { bodyLimit: def.bodyLimit } : {}),
    onRequest: async (req) => guard.check(req, def as unknown as RouteDef),
    handler: async (req, reply) => {
      const params = def.params ? parse(def.params, req.params, 'params') : {};
      const query = def.query ? parse(def.query, withoutEmpty(req.query), 'query') : {};
      const body = def.body ? parse(def.body, req.body, 'body') : {};
      if (!def.body && req.body !== undefined && req.body !== null && def.method !== 'GET') {
        if (typeof req.body !== 'object' || Object.keys(req.body as object).length > 0)
          throw new ApiError(400, 'invalid_request', 'body: this route takes no body');
      }
      const result = await def.handler({
        req,
        reply,
        params: params as z.output<P>,
        query: query as z.output<Q>,
        body: body as z.output<B>,
        // The guard (onRequest) let no request without a principal reach a non-public route.
        principal: req.principal as PrincipalFor<A>,
        lang: req.lang,
        t: guard.translate(req.lang),
      });
      if (reply.sent) return reply;
      if (def.kind === 'page' && result !== undefined) {
        return reply.type('text/html; charset=utf-8').send(String(result));
      }
      return result;
    },
  });
}

/** HTML forms send empty fields as `x=`: an empty query value means "not given". */
function withoutEmpty(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
}

// -------------------------------------------------------------------------------------------------
// Cookies

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      // a malformed cookie is ignored
    }
  }
  return out;
}

export function serializeCookie(
  name: string,
  value: string,
  opts: { maxAgeS?: number; httpOnly?: boolean; secure?: boolean },
): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'SameSite=Strict'];
  if (opts.maxAgeS !== undefined) parts.push(`Max-Age=${opts.maxAgeS}`);
  if (opts.httpOnly ?? true) parts.push('HttpOnly');
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/**
 * No Origin header (same-origin navigation, scripts), or exactly this host's origin — under a name
 * the dashboard answers to (the same list as the Host check, hosts.ts).
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host || (origin !== `http://${host}` && origin !== `https://${host}`)) return false;
  return req.server.sekishoHosts?.allows(hostOfHeader(host)) ?? false;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// -------------------------------------------------------------------------------------------------
// Security headers

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "manifest-src 'self'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
};

// -------------------------------------------------------------------------------------------------
// Shared schemas

export const Millis = z.coerce.number().int().nonnegative();
const LocalDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** A range of local days of the site's zone (`to` inclusive), as the reports and exports take it. */
export const DayRangeQuery = z.strictObject({ from: LocalDay.optional(), to: LocalDay.optional() });
export const IdParam = z.strictObject({ id: z.string().min(1).max(64) });
export const NumericIdParam = z.strictObject({ id: z.coerce.number().int().positive() });
export const Ok = z.object({ ok: z.literal(true) });
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), text: z.string().optional() }),
});
