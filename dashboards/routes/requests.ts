/**
 * Requests and approvals (§4(3)) and the visitors page built on them: a visitor badge is requested,
 * approved by someone else, then handed out (the card enrolled for the visitor) and taken back.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BreakGlass, breakGlassOf, MIN_BREAK_GLASS_REASON } from '../../controller/approvals/break-glass.js';
import {
  NewRequest,
  PAYLOADS,
  type RequestActor,
  RequestKind,
  type RequestRecord,
  RequestStatus,
  requestSchemaWith,
} from '../../controller/approvals/requests.js';
import { defaultVisitWindow, presenceView, visitSettings } from '../../controller/domain/index.js';
import { formatLocal } from '../../controller/time.js';
import {
  CredentialError,
  type EnrolReader,
  enrolCredential,
  type ParsedCredential,
} from '../../firmware-bridge/index.js';
import type { Dash } from '../context.js';
import { localTime } from '../dates.js';
import { ApiError, addRoute, IdParam, NumericIdParam } from '../http.js';
import { type RequestNames, requestsPage, visitorsPage } from '../pages/requests.js';
import { shellOf } from '../views.js';
import { EnrolFormat } from '../vocabulary.js';

const LocalOrMillis = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DDTHH:MM'),
]);

const OptionalTime = LocalOrMillis.nullable().optional();

/** Acting alone (controller/approvals/break-glass.ts): the reason is mandatory. */
export const BreakGlassBody = z.strictObject({ reason: z.string().max(500) });

/**
 * What the API accepts: NewRequest, with times also as local date-times, a badge as the number
 * printed for the reader (sealed into its keyed hash before it is stored), and `breakGlass` to carry
 * it out alone.
 */
const RequestBody = requestSchemaWith(
  {
    ...PAYLOADS,
    visitor_badge: PAYLOADS.visitor_badge.extend({ validFrom: LocalOrMillis, validUntil: LocalOrMillis }),
    badge_enrol: z.strictObject({
      personId: z.string().min(1).max(64),
      number: z.string().trim().min(1).max(40),
      format: EnrolFormat.default('auto'),
      validFrom: OptionalTime,
      validUntil: OptionalTime,
    }),
    validity_change: z.strictObject({
      personId: z.string().min(1).max(64),
      validFrom: OptionalTime,
      validUntil: OptionalTime,
      active: z.literal(true).optional(),
    }),
    manual_entry: PAYLOADS.manual_entry.extend({ paperAt: LocalOrMillis }),
  },
  { breakGlass: BreakGlassBody.optional() },
);
type RequestBody = z.output<typeof RequestBody>;

function time(dash: Dash, v: number | string, endOfDay: boolean): number;
function time(
  dash: Dash,
  v: number | string | null | undefined,
  endOfDay: boolean,
): number | null | undefined;
function time(dash: Dash, v: number | string | null | undefined, endOfDay: boolean) {
  if (v === undefined || v === null || typeof v === 'number') return v;
  return localTime(dash, v, endOfDay);
}

/**
 * A badge number as typed, normalised as the configured readers would produce it (with a warning
 * when the input may be a mistake); a bad one is a 400 `invalid_credential`.
 */
export function parsedCredentialOf(
  format: string,
  number: string,
  readers?: readonly EnrolReader[],
): ParsedCredential {
  try {
    return enrolCredential(number, format, readers);
  } catch (err) {
    if (err instanceof CredentialError) throw new ApiError(400, 'invalid_credential', err.message);
    throw err;
  }
}

/** The credential alone (see parsedCredentialOf). */
export function credentialOf(format: string, number: string, readers?: readonly EnrolReader[]): string {
  return parsedCredentialOf(format, number, readers).credential;
}

/** The API's request body as the store takes it (NewRequest), or a 400. */
function toNewRequest(dash: Dash, body: RequestBody): NewRequest {
  const { breakGlass: _, ...rest } = body;
  let input: unknown = rest;
  if (rest.kind === 'visitor_badge') {
    const p = rest.payload;
    input = {
      ...rest,
      payload: {
        ...p,
        validFrom: time(dash, p.validFrom, false),
        validUntil: time(dash, p.validUntil, true),
      },
    };
  } else if (rest.kind === 'badge_enrol') {
    const p = rest.payload;
    input = {
      ...rest,
      payload: {
        personId: p.personId,
        ...dash.controller.registry.sealCredential(
          credentialOf(p.format, p.number, dash.controller.config.readers),
        ),
        validFrom: time(dash, p.validFrom, false) ?? null,
        validUntil: time(dash, p.validUntil, true) ?? null,
      },
    };
  } else if (rest.kind === 'validity_change') {
    const p = rest.payload;
    const payload: Record<string, unknown> = { personId: p.personId };
    if (p.validFrom !== undefined) payload.validFrom = time(dash, p.validFrom, false);
    if (p.validUntil !== undefined) payload.validUntil = time(dash, p.validUntil, true);
    if (p.active) payload.active = true;
    input = { ...rest, payload };
  } else if (rest.kind === 'manual_entry') {
    input = { ...rest, payload: { ...rest.payload, paperAt: time(dash, rest.payload.paperAt, false) } };
  }
  const parsed = NewRequest.safeParse(input);
  if (!parsed.success) throw new ApiError(400, 'invalid_request', parsed.error.issues[0]!.message);
  return parsed.data;
}

const breakGlasses = new WeakMap<Dash, BreakGlass>();

/** The dashboard's break-glass path: its alarm through the controller's own alarm rows. */
export function breakGlassOfDash(dash: Dash): BreakGlass {
  let bg = breakGlasses.get(dash);
  if (!bg) {
    const { controller } = dash;
    bg = new BreakGlass(
      {
        db: controller.db,
        journal: controller.journal,
        registry: controller.registry,
        users: dash.users,
        config: controller.config,
      },
      dash.requests,
      {
        raise: (detail, at, source) =>
          controller.raiseAlarm('break_glass', 'critical', null, detail, at, source),
        clear: (at, source) => controller.clearAlarmCondition('break_glass', null, at, source),
      },
    );
    breakGlasses.set(dash, bg);
  }
  return bg;
}

/**
 * Files a request for `by` — or, with a break-glass reason, carries it out alone at once. The one
 * way every dashboard route that widens access goes (POST /api/requests, the people routes).
 */
export function fileRequest(
  dash: Dash,
  input: NewRequest,
  by: RequestActor,
  breakGlass?: { reason: string },
): RequestRecord {
  const at = dash.now();
  const r = breakGlass
    ? breakGlassOfDash(dash).use(input, by, breakGlass.reason, at)
    : dash.requests.create(input, by, at);
  dash.hub.notify();
  return r;
}

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
  /** Set on a break-glass use: its reason and its review (pending while `reviewedAt` is null). */
  breakGlass: z
    .object({
      reason: z.string(),
      reviewedBy: z.string().nullable(),
      reviewedAt: z.number().nullable(),
      reviewNote: z.string().nullable(),
    })
    .nullable(),
});

export const requestView = (r: RequestRecord) => ({ ...r, breakGlass: breakGlassOf(r) });

/** The labels of the people and accounts that `rows` name, for their summaries. */
function requestNames(dash: Dash, rows: readonly RequestRecord[]): RequestNames {
  const personIds = new Set<string>();
  const userIds = new Set<string>();
  for (const r of rows) {
    const p = r.payload;
    for (const id of [p.personId, p.hostPersonId, p.witnessPersonId, p.escortId])
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
const requestActors = (rows: readonly RequestRecord[]) =>
  rows.flatMap((r) => [r.requestedBy, r.decidedBy, breakGlassOf(r)?.reviewedBy ?? null]);

export function registerRequestRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, requests, controller } = dash;
  const { registry, config } = controller;

  const view = requestView;

  addRoute(app, guard, {
    method: 'GET',
    url: '/requests',
    auth: 'requests.read',
    kind: 'page',
    tag: 'requests',
    summary: 'Pending and decided requests; approve, reject or withdraw',
    handler: ({ t, lang, principal }) => {
      const pending = requests.list({ status: 'pending', limit: 200 });
      const decided = requests
        .list({ limit: 100 })
        .filter((r) => r.status !== 'pending')
        .map(view);
      const awaitingReview = breakGlassOfDash(dash).pendingReviews().map(view);
      const all = [...pending, ...decided, ...awaitingReview];
      const shell = shellOf(dash, { t, lang, principal }, requestActors(all));
      return requestsPage(shell, {
        pending,
        decided,
        awaitingReview,
        names: requestNames(dash, all),
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
      'YYYY-MM-DDTHH:MM), equipment, account_create, role_change, password_reset, badge_enrol (`number` as printed), ' +
      'validity_change, lockdown_override. A visitor_badge with `amends` amends one’s own approved visitor request ' +
      '(never break-glass); a window already over is 409 `visit_ended`. It takes effect only when a different person approves it. ' +
      `With \`breakGlass: { reason }\` (at least ${MIN_BREAK_GLASS_REASON} characters; roles that may approve; ` +
      'not account kinds) it is carried out at once, alone: journaled, a critical alarm, and a review by another person. ' +
      'A credential that stands for no person (an API token) is refused: 403 `no_person`.',
    body: RequestBody,
    response: RequestView,
    handler: ({ body, principal }) =>
      view(fileRequest(dash, toNewRequest(dash, body), principal, body.breakGlass)),
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
    summary:
      'Reject a request filed by someone else, with a `note` (required): the reason, journaled in `request_rejected` and shown to the applicant',
    params: NumericIdParam,
    // Required, but checked by the store after "is it your own?" (own_request says more than "reason missing").
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
    summary:
      'Withdraw one’s own request: a pending one, or an approved visitor-badge request whose card is not handed out yet ' +
      '(journaled `request_withdrawn` with `afterApproval`). Another person’s request: 403 `forbidden`; a handed-out card: 409 `handed_out`',
    params: NumericIdParam,
    response: RequestView,
    handler: ({ params, principal }) => view(requests.withdraw(params.id, principal, dash.now())),
  });

  // ---------------------------------------------------------------------------------------------
  // Break-glass: the uses, and their review by another person

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/break-glass',
    auth: 'requests.read',
    kind: 'json',
    tag: 'requests',
    summary: 'Break-glass uses, newest first (at most `limit`, default 100), and how many await their review',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    response: z.object({ uses: z.array(RequestView), pendingReviews: z.number(), total: z.number() }),
    handler: ({ query }) => {
      const bg = breakGlassOfDash(dash);
      return {
        uses: bg.list(query.limit).map(view),
        pendingReviews: bg.pendingReviews().length,
        total: bg.count(),
      };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/break-glass/:id/review',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'requests',
    summary:
      'Review a break-glass use after the fact, with a `note`: a different person than who used it (else 403 ' +
      '`self_approval_refused`, journaled). Clears the condition of its alarm.',
    params: NumericIdParam,
    body: z.strictObject({ note: z.string().max(500) }),
    response: RequestView,
    handler: ({ params, body, principal }) => {
      const r = breakGlassOfDash(dash).review(params.id, principal, body.note, dash.now());
      dash.hub.notify();
      return view(r);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // Visitors

  const visitorState = () => {
    const now = dash.now();
    const approved = requests.list({ kind: 'visitor_badge', status: 'approved', limit: 200 });
    const awaiting = approved.filter((r) => typeof r.result?.badgeId !== 'string');
    // Pending amendments, by the approved request each would replace.
    const amendments = new Map<number, number>();
    for (const r of requests.list({ kind: 'visitor_badge', status: 'pending', limit: 1000 }))
      if (typeof r.payload.amends === 'number') amendments.set(r.payload.amends, r.id);
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
    return { awaiting, unreturned, amendments };
  };

  /** A time as a `datetime-local` field holds it, in the site's zone. */
  const localInput = (ms: number) => formatLocal(ms, dash.tz).slice(0, 16).replace(' ', 'T');

  addRoute(app, guard, {
    method: 'GET',
    url: '/visitors',
    auth: 'people.read',
    kind: 'page',
    tag: 'visitors',
    summary: 'Visitors: request a badge, hand it out after approval, take it back; the unreturned',
    handler: ({ t, lang, principal }) => {
      const { awaiting, unreturned, amendments } = visitorState();
      const now = dash.now();
      // A new request starts now, never earlier today (a request filed at 18:59 for 09:00–18:00 was over).
      const window = defaultVisitWindow(now, visitSettings(config));
      return visitorsPage(shellOf(dash, { t, lang, principal }, requestActors(awaiting)), {
        unreturned,
        awaiting,
        amendments,
        names: requestNames(dash, awaiting),
        defaultWindow: { from: localInput(window.from), until: localInput(window.until) },
        localInput,
        now,
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
    summary:
      'Hand out the card of an approved visitor-badge request (enrols it for the visitor’s window); 409 `visit_ended` ' +
      'when that window is over, `handed_out` when its card is already out',
    params: NumericIdParam,
    body: z.strictObject({ number: z.string().trim().min(1).max(40) }),
    handler: ({ params, body, principal }) => {
      return requests.issueVisitorBadge(
        params.id,
        credentialOf('auto', body.number, dash.controller.config.readers),
        principal,
        dash.now(),
      );
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
