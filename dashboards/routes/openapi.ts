/** The OpenAPI 3.1 document of the JSON API, generated from the same zod schemas that check requests. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ROLE_PERMISSIONS, ROLES, SCOPE_PERMISSIONS, SCOPES } from '../../controller/accounts/roles.js';
import type { Dash } from '../context.js';
import { addRoute, ErrorBody, type RouteDef, tokenMayCall } from '../http.js';

function schema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
}

function parameters(def: RouteDef): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [where, s] of [
    ['path', def.params],
    ['query', def.query],
  ] as const) {
    if (!s) continue;
    const js = schema(s, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {}))
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        schema: prop,
      });
  }
  return out;
}

export function buildOpenApi(app: FastifyInstance, dash: Dash): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { content: { 'application/json': { schema: schema(ErrorBody, 'output') } } };
  for (const def of app.sekishoDefs) {
    // The JSON API, and the other machine-readable routes outside it (the Prometheus metrics).
    if (def.kind === 'page' || !(def.url.startsWith('/api/') || def.kind === 'text')) continue;
    const path = def.url.replace(/:(\w+)/g, '{$1}');
    const roles =
      def.auth === 'public' ? [] : ROLES.filter((r) => ROLE_PERMISSIONS[r].has(def.auth as never));
    const scopes = SCOPES.filter((sc) => tokenMayCall([sc], def));
    const op: Record<string, unknown> = {
      tags: [def.tag],
      summary: def.summary.split('. ')[0],
      description:
        `${def.summary}\n\nRight: \`${def.auth}\`${roles.length ? ` (roles: ${roles.join(', ')})` : ''}. ` +
        (scopes.length ? `API token scopes: ${scopes.join(', ')}.` : 'No API token may call it.'),
      operationId: `${def.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      'x-permission': def.auth,
      'x-token-scopes': scopes,
      parameters: parameters(def),
      responses: {
        200: def.response
          ? { description: 'OK', content: { 'application/json': { schema: schema(def.response, 'output') } } }
          : def.produces
            ? { description: 'OK', content: { [def.produces]: {} } }
            : { description: 'OK (JSON)', content: { 'application/json': {} } },
        400: { description: 'invalid_request: the input failed its schema; nothing changed', ...error },
        ...(def.auth === 'public'
          ? {}
          : {
              401: {
                description: 'unauthorized: no session, or an unknown, revoked or expired token',
                ...error,
              },
              403: {
                description: 'forbidden, csrf_failed, self_approval_refused, password_change_required',
                ...error,
              },
            }),
        404: { description: 'not_found', ...error },
        409: { description: 'conflict with the current state', ...error },
      },
      // Who may call it: a session (with its CSRF token on a change), or a token of one of its scopes.
      security:
        def.auth === 'public' ? [] : [{ session: [], csrf: [] }, ...scopes.map((sc) => ({ apiToken: [sc] }))],
    };
    if (def.body)
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: schema(def.body, 'input') } },
      };
    paths[path] = { ...paths[path], [def.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sekisho dashboard API',
      version: '1',
      description:
        'The JSON API behind the dashboard. Log in with POST /api/session; send the session cookie, and on every ' +
        'change the `x-csrf-token` from the login answer. Scripts and monitoring send a named API token instead ' +
        '(`Authorization: Bearer sks_<name>_<secret>`, made with `sekisho token create`), which may call only the ' +
        'routes of its scopes (`x-token-scopes` on each operation). Errors are `{"error":{"code","message"}}` with ' +
        `a stable code. Controller ${dash.controller.config.controller.id}.`,
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'sekisho_session' },
        csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token' },
        apiToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'sks_<name>_<secret>',
          description:
            'A named API token (`sekisho token create NAME --scope …`); it holds only the permissions of its ' +
            'scopes, never a page, never a change outside the simulated hardware. ' +
            SCOPES.map((sc) => `\`${sc}\`: ${SCOPE_PERMISSIONS[sc].join(', ')}`).join('; ') +
            '. The `sim` routes exist only when the board is simulated.',
        },
      },
    },
    security: [{ session: [], csrf: [] }, ...SCOPES.map((sc) => ({ apiToken: [sc] }))],
    paths,
  };
}

export function registerOpenApi(app: FastifyInstance, dash: Dash): void {
  let cached: Record<string, unknown> | null = null;
  addRoute(app, dash.guard, {
    method: 'GET',
    url: '/api/openapi.json',
    auth: 'api.docs',
    kind: 'json',
    tag: 'meta',
    summary: 'This OpenAPI document',
    handler: () => {
      cached ??= buildOpenApi(app, dash);
      return cached;
    },
  });
}
