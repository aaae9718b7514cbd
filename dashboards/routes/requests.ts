/**
 * Requests and approvals (§4(3)) and the visitors page built on them: a visitor badge is requested,
 * approved by someone else, then handed out (the card enrolled for the visitor) and taken back.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  NewRequest,
  PAYLOADS,
  RequestKind,
  type RequestRecord,
  RequestStatus,
  requestSchema,
} from '../../controller/approvals/requests.js';
import { presenceView } from '../../controller/domain/index.js';
import { CredentialError, normaliseCredential } from '../../firmware-bridge/index.js';
import type { Dash } from '../context.js';
import { localTime, localToday } from '../dates.js';
import { ApiError, addRoute, IdParam, NumericIdParam } from '../http.js';
import { type RequestNames, requestsPage, visitorsPage } from '../pages/requests.js';
import { shellOf } from '../views.js';

const LocalOrMillis = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DDTHH:MM'),
]);

/** What the API accepts: NewRequest, with a visitor's window also as local date-times. */
const RequestBody = requestSchema({
  ...PAYLOADS,
  visitor_badge: PAYLOADS.visitor_badge.extend({ validFrom: LocalOrMillis, validUntil: LocalOrMillis }),
});

const RequestView = z.object({
  id: z.number(),
  kind: RequestKind,
  status: RequestStatus,
  requestedBy: z.string(),
  requestedAt: z.number(),
  payload: z.record(z.string(), z.unknown()),
  reason: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  decisionNote: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
});

/** The labels of the people and accounts that `rows` name, for their summaries. */
function requestNames(dash: Dash, rows: readonly RequestRecord[]): RequestNames {
  const personIds = new Set<string>();
  const userIds = new Set<string>();
  for (const r of rows) {
    const p = r.payload;
    for (const id of [p.personId, p.hostPersonId, p.witnessPersonId])
      if (typeof id === 'string') personIds.add(id);
    if (typeof p.userId === 'string') userIds.add(p.userId);
  }
  const people = new Map<string, string>();
  for (const [id, x] of dash.controller.registry.getPeople(personIds))
    people.set(id, `${x.name} [${x.displayId}]`);
  const accounts = new Map<string, string>();
  for (const id of userIds) {
    const u = dash.users.get(id);
    if (u) accounts.set(id, `${u.displayName} (${u.username})`);
  }
  return { people, accounts };
}

/** The accounts that requests name as their applicant or decider. */
const requestActors = (rows: readonly RequestRecord[]) => rows.flatMap((r) => [r.requestedBy, r.decidedBy]);

export function registerRequestRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, requests, controller } = dash;
  const { registry, config } = controller;

  const view = (r: RequestRecord) => ({ ...r });

  addRoute(app, guard, {
    method: 'GET',
    url: '/requests',
    auth: 'requests.read',
    kind: 'page',
    tag: 'requests',
    summary: 'Pending and decided requests; approve, reject or withdraw',
    handler: ({ t, lang, principal }) => {
      const pending = requests.list({ status: 'pending', limit: 200 });
      const decided = requests.list({ limit: 100 }).filter((r) => r.status !== 'pending');
      const shell = shellOf(dash, { t, lang, principal }, requestActors([...pending, ...decided]));
      return requestsPage(shell, {
        pending,
        decided,
        names: requestNames(dash, [...pending, ...decided]),
        schedules: config.schedules,
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/requests',
    auth: 'requests.read',
    kind: 'json',
    tag: 'requests',
    summary: 'Requests, newest first; page with `before` = the last id',
    query: z.strictObject({
      status: RequestStatus.optional(),
      kind: RequestKind.optional(),
      before: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: z.object({ requests: z.array(RequestView) }),
    handler: ({ query }) => ({
      requests: requests
        .list({
          ...(query.status ? { status: query.status } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          ...(query.before ? { beforeId: query.before } : {}),
          limit: query.limit,
        })
        .map(view),
    }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/requests/:id',
    auth: 'requests.read',
    kind: 'json',
    tag: 'requests',
    summary: 'One request',
    params: NumericIdParam,
    response: RequestView,
    handler: ({ params }) => {
      const r = requests.get(params.id);
      if (!r) throw new ApiError(404, 'not_found', `no request ${params.id}`);
      return view(r);
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests',
    auth: 'requests.create',
    kind: 'json',
    tag: 'requests',
    summary:
      'File a request: access_grant, schedule_change, escort_permission, visitor_badge (times as UTC ms or local ' +
      'YYYY-MM-DDTHH:MM), equipment, account_create, role_change, password_reset. It takes effect only when a different user approves it.',
    body: RequestBody,
    response: RequestView,
    handler: ({ body, principal }) => {
      let input: unknown = body;
      if (body.kind === 'visitor_badge') {
        const p = body.payload;
        input = {
          ...body,
          payload: {
            ...p,
            validFrom: typeof p.validFrom === 'number' ? p.validFrom : localTime(dash, p.validFrom, false),
            validUntil: typeof p.validUntil === 'number' ? p.validUntil : localTime(dash, p.validUntil, true),
          },
        };
      }
      const parsed = NewRequest.safeParse(input);
      if (!parsed.success) throw new ApiError(400, 'invalid_request', parsed.error.issues[0]!.message);
      const r = requests.create(parsed.data, principal, dash.now());
      dash.hub.notify();
      return view(r);
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/approve',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'requests',
    summary:
      'Approve and carry out a request. 403 `self_approval_refused` (journaled) if you filed it or it concerns your own account. ' +
      'For a new account or a password reset the answer carries the approver’s half of the activation secret (`activationHalf`), shown this once.',
    params: NumericIdParam,
    body: z.strictObject({ note: z.string().trim().max(500).default('') }),
    handler: async ({ params, body, principal }) => {
      const r = await requests.approve(params.id, principal, body.note, () => dash.now());
      dash.hub.notify();
      return { ...view(r.request), ...(r.activationHalf ? { activationHalf: r.activationHalf } : {}) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/reject',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'requests',
    summary: 'Reject a request filed by someone else',
    params: NumericIdParam,
    body: z.strictObject({ note: z.string().trim().max(500).default('') }),
    response: RequestView,
    handler: ({ params, body, principal }) =>
      view(requests.reject(params.id, principal, body.note, dash.now())),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/withdraw',
    auth: 'requests.create',
    kind: 'json',
    tag: 'requests',
    summary: 'Withdraw one’s own pending request',
    params: NumericIdParam,
    response: RequestView,
    handler: ({ params, principal }) => view(requests.withdraw(params.id, principal, dash.now())),
  });

  // ---------------------------------------------------------------------------------------------
  // Visitors

  const visitorState = () => {
    const now = dash.now();
    const approved = requests.list({ kind: 'visitor_badge', status: 'approved', limit: 200 });
    const awaiting = approved.filter((r) => typeof r.result?.badgeId !== 'string');
    const presence = new Map(
      controller.config.doors.flatMap((d) =>
        presenceView(controller.derived, d.id).map((p) => [p.personId, p] as const),
      ),
    );
    const unreturned = registry.listUnreturnedVisitorBadges().map((vb) => ({
      ...vb,
      name: registry.getPerson(vb.personId)?.name ?? vb.personId,
      displayId: registry.getPerson(vb.personId)?.displayId ?? '',
      hostName: registry.getPerson(vb.hostId)?.name ?? vb.hostId,
      overdue: vb.validUntil !== null && vb.validUntil <= now,
      inside: presence.has(vb.personId),
      escorted: presence.get(vb.personId)?.escorted ?? null,
    }));
    return { awaiting, unreturned };
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/visitors',
    auth: 'people.read',
    kind: 'page',
    tag: 'visitors',
    summary: 'Visitors: request a badge, hand it out after approval, take it back; the unreturned',
    handler: ({ t, lang, principal }) => {
      const { awaiting, unreturned } = visitorState();
      return visitorsPage(shellOf(dash, { t, lang, principal }), {
        unreturned,
        awaiting,
        names: requestNames(dash, awaiting),
        today: localToday(dash, dash.now()),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/visitors',
    auth: 'people.read',
    kind: 'json',
    tag: 'visitors',
    summary: 'Approved visitor badges not yet handed out, and visitor badges not returned',
    handler: () => {
      const { awaiting, unreturned } = visitorState();
      return { awaiting: awaiting.map(view), unreturned };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/requests/:id/issue-badge',
    auth: 'visitors.handle',
    kind: 'json',
    tag: 'visitors',
    summary: 'Hand out the card of an approved visitor-badge request (enrols it for the visitor’s window)',
    params: NumericIdParam,
    body: z.strictObject({ number: z.string().trim().min(1).max(40) }),
    handler: ({ params, body, principal }) => {
      let credential: string;
      try {
        credential = normaliseCredential('auto', body.number);
      } catch (err) {
        if (err instanceof CredentialError) throw new ApiError(400, 'invalid_credential', err.message);
        throw err;
      }
      return requests.issueVisitorBadge(params.id, credential, principal, dash.now());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/visitors/:id/return',
    auth: 'visitors.handle',
    kind: 'json',
    tag: 'visitors',
    summary:
      'A visitor card came back (`id` = its badge id): revoked at once; who took it and when are recorded',
    params: IdParam,
    body: z.strictObject({ note: z.string().trim().max(500).optional() }),
    handler: ({ params, body, principal }) => {
      const vb = registry.returnVisitorBadge(params.id, principal.actor, dash.now(), body.note);
      dash.hub.notify();
      return vb;
    },
  });
}
