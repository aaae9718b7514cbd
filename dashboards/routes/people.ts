/**
 * People and badges: add and edit people; enrol badges (the number is normalised, then stored only
 * as a keyed hash and a masked suffix); **lost badge** disables a badge at once with no approval
 * (§6(1)⑧); revoke; withdraw door access at once.
 *
 * What widens access waits for a different person (§4(3)) and is filed as a request (requests.ts):
 * granting access, enrolling a badge (`badge_enrol`), an earlier start, a later end or the
 * re-activation of a person (`validity_change`, see `splitPersonPatch`), and the lockdown override
 * (`lockdown_override`) — unless carried out alone on the break-glass path (`breakGlass`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  type NewRequest,
  type RequestRecord,
  splitPersonPatch,
} from '../../controller/approvals/requests.js';
import {
  type Badge,
  badgeDisplayStatus,
  nameField,
  type Person,
  PersonCategory,
  type VisitorBadgeStatus,
} from '../../controller/domain/index.js';
import { normaliseReading } from '../../controller/domain/romaji.js';
import { MAX_PEOPLE_PAGE, type PeopleFilter, withoutMask } from '../../controller/registry/index.js';
import type { Dash } from '../context.js';
import { decodePeopleCursor, encodePeopleCursor } from '../cursor.js';
import { localTime } from '../dates.js';
import { ApiError, addRoute, IdParam } from '../http.js';
import { peoplePage, personPage } from '../pages/people.js';
import { shellOf } from '../views.js';
import { EnrolFormat, EnrolledCategory } from '../vocabulary.js';
import { BreakGlassBody, fileRequest, parsedCredentialOf, requestView } from './requests.js';

const CATEGORY = `(?:${PersonCategory.options.join('|')})`;
const CATEGORY_LIST = new RegExp(`^${CATEGORY}(?:,${CATEGORY}){0,${PersonCategory.options.length - 1}}$`);

const LocalDate = z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DD');

/** A reading (フリガナ) as typed: kana in either script; empty or null for none. */
const ReadingInput = z.string().max(100).nullable().optional();

/** The reading to store: undefined (not given), null (none) or katakana; not kana is a 400. */
function readingOf(v: string | null | undefined): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v.trim() === '') return null;
  const r = normaliseReading(v);
  if (r === undefined)
    throw new ApiError(
      400,
      'invalid_reading',
      `reading: expected kana (フリガナ), e.g. サトウ ハナコ, got "${v.trim()}"`,
    );
  return r;
}

const PersonBody = z.strictObject({
  displayId: nameField(200),
  name: nameField(200),
  /** フリガナ: kana, stored as katakana; searched by kana and romaji. */
  reading: ReadingInput,
  category: EnrolledCategory,
  /** Local date (or date and time) in the site's zone. */
  validFrom: LocalDate.nullable().optional(),
  /** Inclusive local date: valid through the end of that day. */
  validUntil: LocalDate.nullable().optional(),
  /** Filed as a `lockdown_override` request (the person is added without it). */
  lockdownOverride: z.boolean().optional(),
  /** Why, for the request a widening change files. */
  reason: z.string().trim().min(1).max(500).optional(),
  breakGlass: BreakGlassBody.optional(),
});

/** Widening fields become a request (see splitPersonPatch); the rest applies at once. */
const PersonPatch = z.strictObject({
  displayId: nameField(200).optional(),
  name: nameField(200).optional(),
  /** フリガナ; empty or null removes it. */
  reading: ReadingInput,
  validFrom: LocalDate.nullable().optional(),
  validUntil: LocalDate.nullable().optional(),
  active: z.boolean().optional(),
  lockdownOverride: z.boolean().optional(),
  /** Why, for the request a widening change files. */
  reason: z.string().trim().min(1).max(500).optional(),
  breakGlass: BreakGlassBody.optional(),
});

/** The requests a change filed (or, with `breakGlass`, carried out alone). */
const FiledRequests = z.array(z.object({ id: z.number(), kind: z.string(), status: z.string() }));

const PersonView = z.object({
  id: z.string(),
  displayId: z.string(),
  name: z.string(),
  /** フリガナ (katakana), when the person has one. */
  reading: z.string().optional(),
  category: z.string(),
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
  active: z.boolean(),
  lockdownOverride: z.boolean(),
  mayEscort: z.boolean(),
  expired: z.boolean(),
  badges: z.array(
    z.object({
      id: z.string(),
      masked: z.string(),
      status: z.string(),
      validFrom: z.number().nullable(),
      validUntil: z.number().nullable(),
      expired: z.boolean(),
    }),
  ),
  permissions: z.array(z.object({ doorId: z.string(), scheduleId: z.string() })),
});

/** `visitorBadge`: the visit's status of a visitor card (a returned one is shown `returned`). */
function badgeView(b: Badge, now: number, visitorBadge?: VisitorBadgeStatus | null) {
  return {
    id: b.id,
    masked: b.masked,
    status: badgeDisplayStatus(b.status, visitorBadge),
    validFrom: b.validFrom,
    validUntil: b.validUntil,
    expired: b.validUntil !== null && b.validUntil <= now,
  };
}

/** One person with their badges, door access and escort permission. */
function personView(dash: Dash, p: Person) {
  return peopleViews(dash, [p])[0]!;
}

/** People with their badges, door access and escort permission: three queries, whatever their number. */
function peopleViews(dash: Dash, people: Person[]) {
  const { registry } = dash.controller;
  const ids = people.map((p) => p.id);
  const badges = registry.badgesOf(ids);
  const permissions = registry.permissionsOf(ids);
  const escorts = registry.escortsAmong(ids);
  const now = dash.now();
  return people.map((p) => ({
    ...p,
    mayEscort: escorts.has(p.id),
    expired: p.validUntil !== null && p.validUntil <= now,
    badges: (badges.get(p.id) ?? []).map((b) =>
      badgeView(b, now, p.category === 'visitor' ? registry.getVisitorBadge(b.id)?.status : null),
    ),
    permissions: (permissions.get(p.id) ?? []).map((x) => ({ doorId: x.doorId, scheduleId: x.scheduleId })),
  }));
}

// -------------------------------------------------------------------------------------------------
// The people list: a page at a time (keyset on name, id), filtered in SQL, never the whole registry.

export const PEOPLE_PAGE_DEFAULT = 100;

/** A badge as someone types it to find its holder: its id, or the last 4 of its number (`••••` allowed). */
const BadgeNeedle = z
  .string()
  .trim()
  .max(64)
  .transform(withoutMask)
  .refine(
    (v) => /^b_[0-9A-Za-z]{1,62}$/.test(v) || Array.from(v).length === 4,
    'expected a badge id (b_…) or the last 4 characters of its number',
  );

export const PeopleListQuery = z.strictObject({
  /** Part of the name or ID card. */
  q: z.string().trim().max(100).optional(),
  badge: BadgeNeedle.optional(),
  category: PersonCategory.optional(),
  /** `1` active only, `0` inactive only; absent: both. */
  active: z.enum(['1', '0']).optional(),
  cursor: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9_-]+$/, 'expected the `next` or `prev` of a previous answer')
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PEOPLE_PAGE).default(PEOPLE_PAGE_DEFAULT),
});
export type PeopleListQuery = z.infer<typeof PeopleListQuery>;

function peopleFilter(dash: Dash, q: PeopleListQuery): PeopleFilter {
  const f: PeopleFilter = {};
  if (q.q) f.text = q.q;
  if (q.category) f.categories = [q.category];
  if (q.active) f.active = q.active === '1';
  if (q.badge !== undefined) {
    const badges = dash.controller.registry.findTypedBadges(q.badge, 50);
    f.ids = [...new Set(badges.map((b) => b.personId))];
  }
  return f;
}

export interface PeopleListPage {
  people: ReturnType<typeof peopleViews>;
  /** How many people match the filter. */
  total: number;
  /** The position of the first row among them (0-based; counted along the pages). */
  offset: number;
  limit: number;
  next: string | null;
  prev: string | null;
}

/** One page of the people list: the page's people, the filter's count, the cursors either way. */
export function peopleList(dash: Dash, q: PeopleListQuery): PeopleListPage {
  const { registry } = dash.controller;
  const filter = peopleFilter(dash, q);
  const cursor = q.cursor === undefined ? undefined : decodePeopleCursor(q.cursor);
  const key = cursor ? { name: cursor.n, id: cursor.i } : undefined;
  const backwards = cursor?.d === 'b';
  const { people, more } = registry.pagePeople({
    ...filter,
    limit: q.limit,
    ...(key ? (backwards ? { before: key } : { after: key }) : {}),
  });
  const total = registry.countPeople(filter);
  // Positions are counted along the pages (a key's rank would cost a count of the rows before it).
  let offset: number;
  if (!cursor) offset = 0;
  else if (backwards) offset = more ? Math.max(0, cursor.o - people.length) : 0;
  else offset = cursor.o + 1;
  const first = people[0];
  const last = people.at(-1);
  const next =
    last && (backwards || more)
      ? encodePeopleCursor({ d: 'a', n: last.name, i: last.id, o: offset + people.length - 1 })
      : null;
  const prev =
    first && (backwards ? more : cursor !== undefined && offset > 0)
      ? encodePeopleCursor({ d: 'b', n: first.name, i: first.id, o: offset })
      : null;
  return { people: peopleViews(dash, people), total, offset, limit: q.limit, next, prev };
}

export function registerPeopleRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller } = dash;
  const { registry, config } = controller;

  const requirePerson = (id: string) => {
    const p = registry.getPerson(id);
    if (!p) throw new ApiError(404, 'not_found', `no person ${id}`);
    return p;
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/people',
    auth: 'people.read',
    kind: 'page',
    tag: 'people',
    summary:
      'People with their badges and door access, a page at a time (by name), filtered by name or ID, badge, ' +
      'category and status',
    query: PeopleListQuery,
    handler: ({ t, lang, principal, query }) => {
      const list = peopleList(dash, query);
      return peoplePage(shellOf(dash, { t, lang, principal }), {
        query,
        defaultLimit: PEOPLE_PAGE_DEFAULT,
        list,
        activeCounts: registry.countActivePeople(),
        schedules: config.schedules,
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/people/:id',
    auth: 'people.read',
    kind: 'page',
    tag: 'people',
    summary: 'One person: details, badges (lost, revoke, enrol), door access (withdraw, request)',
    params: IdParam,
    // After "lost" or "found", the page says what was done (the badge's state, not the URL, decides).
    query: z.object({ lost: z.string().max(64).optional(), found: z.string().max(64).optional() }),
    handler: ({ t, lang, principal, params, query }) => {
      const person = personView(dash, requirePerson(params.id));
      const pending = dash.requests
        .list({ status: 'pending', limit: 1000 })
        .filter((r) => [r.payload.personId, r.payload.hostPersonId].includes(params.id));
      const lost = person.badges.find((b) => b.id === query.lost && b.status === 'lost');
      const found = person.badges.find((b) => b.id === query.found && b.status !== 'active');
      return personPage(shellOf(dash, { t, lang, principal }), {
        person,
        schedules: config.schedules,
        pending,
        ...(lost ? { done: { act: 'lost' as const, masked: lost.masked } } : {}),
        ...(found ? { done: { act: 'found' as const, masked: found.masked } } : {}),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary:
      'People with badges (masked) and door access, by name, a page at a time (`limit`, default 100, at most 500): ' +
      'filter with `q` (part of the name or ID card, or of the reading in kana or romaji), `badge` (badge id or last 4), `category`, `active` (1 or 0); ' +
      '`total` counts the matches; page with `cursor` = the previous answer’s `next` (or `prev`)',
    query: PeopleListQuery,
    response: z.object({
      people: z.array(PersonView),
      total: z.number(),
      offset: z.number(),
      limit: z.number(),
      next: z.string().nullable(),
      prev: z.string().nullable(),
    }),
    handler: ({ query }) => peopleList(dash, query),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people/search',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary:
      'Active people whose name or ID contains `q`, or whose reading (フリガナ) it matches in kana or romaji (at most `limit`, default 20), optionally of `category` ' +
      '(one or several, comma-separated): for pickers such as the presence correction and the request forms, ' +
      'which must not put the whole registry into a page',
    query: z.strictObject({
      q: z.string().min(1).max(100),
      limit: z.coerce.number().int().min(1).max(100).optional(),
      /** One category or several, comma-separated (e.g. `staff,contractor`). */
      category: z
        .string()
        .regex(CATEGORY_LIST, 'expected staff, contractor or visitor, or several comma-separated')
        .optional(),
    }),
    response: z.object({
      people: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          reading: z.string().optional(),
          displayId: z.string(),
          category: PersonCategory,
        }),
      ),
    }),
    handler: ({ query }) => ({
      people: registry
        .searchPeople(
          query.q,
          query.limit ?? 20,
          query.category === undefined ? undefined : (query.category.split(',') as PersonCategory[]),
        )
        .map((p) => ({
          id: p.id,
          name: p.name,
          ...(p.reading ? { reading: p.reading } : {}),
          displayId: p.displayId,
          category: p.category,
        })),
    }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/people/:id',
    auth: 'people.read',
    kind: 'json',
    tag: 'people',
    summary: 'One person',
    params: IdParam,
    response: PersonView,
    handler: ({ params }) => personView(dash, requirePerson(params.id)),
  });

  /**
   * Files each widening request of one change for `principal` (or carries them out alone with
   * `breakGlass`). A credential of no person is refused before anything is changed.
   */
  const fileAll = (
    inputs: NewRequest[],
    principal: Parameters<typeof fileRequest>[2],
    breakGlass: { reason: string } | undefined,
  ): RequestRecord[] => inputs.map((input) => fileRequest(dash, input, principal, breakGlass));
  const filed = (rs: RequestRecord[]) => rs.map((r) => ({ id: r.id, kind: r.kind, status: r.status }));

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary:
      'Add a staff member or contractor (visitors come through a visitor-badge request), with an optional ' +
      '`reading` (フリガナ, kana). An ID card number another staff member or contractor holds is refused ' +
      '(409 `duplicate_id_card`). `lockdownOverride: true` ' +
      'is filed as a `lockdown_override` request (listed in `requests`), or carried out alone with `breakGlass`',
    body: PersonBody,
    response: PersonView.extend({ requests: FiledRequests }),
    handler: ({ body, principal }) => {
      const at = dash.now();
      const reading = readingOf(body.reading);
      if (body.lockdownOverride) dash.requests.requirePerson(principal, 'create', 'lockdown_override', at);
      const p = registry.addPerson(
        {
          displayId: body.displayId,
          name: body.name,
          ...(reading ? { reading } : {}),
          category: body.category,
          validFrom: localTime(dash, body.validFrom, false),
          validUntil: localTime(dash, body.validUntil, true),
          lockdownOverride: false,
        },
        principal.actor,
        at,
      );
      const rs = body.lockdownOverride
        ? fileAll(
            [
              {
                kind: 'lockdown_override',
                payload: { personId: p.id },
                reason:
                  body.reason ??
                  body.breakGlass?.reason ??
                  `lockdown override for the new ${p.category} ${p.displayId}`,
              },
            ],
            principal,
            body.breakGlass,
          )
        : [];
      return { ...personView(dash, requirePerson(p.id)), requests: filed(rs) };
    },
  });

  addRoute(app, guard, {
    method: 'PATCH',
    url: '/api/people/:id',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary:
      'Edit a person; journaled with the change. Name, ID (not one another person holds: 409 ' +
      '`duplicate_id_card`), reading (`null` or empty removes it), a later start, an earlier end, deactivation and removing ' +
      'the lockdown override apply at once; an earlier start, a later end (or none), re-activation and setting ' +
      'the lockdown override are filed as `validity_change` / `lockdown_override` requests (listed in `requests`), ' +
      'or carried out alone with `breakGlass`',
    params: IdParam,
    body: PersonPatch,
    response: PersonView.extend({ requests: FiledRequests }),
    handler: ({ params, body, principal }) => {
      const current = requirePerson(params.id);
      if (current.category === 'visitor')
        throw new ApiError(409, 'conflict', 'visitors are changed through their badge request');
      const patch: Parameters<typeof registry.updatePerson>[1] = {};
      if (body.displayId !== undefined) patch.displayId = body.displayId;
      if (body.name !== undefined) patch.name = body.name;
      const reading = readingOf(body.reading);
      if (reading !== undefined) patch.reading = reading;
      if (body.active !== undefined) patch.active = body.active;
      if (body.lockdownOverride !== undefined) patch.lockdownOverride = body.lockdownOverride;
      if (body.validFrom !== undefined) patch.validFrom = localTime(dash, body.validFrom, false);
      if (body.validUntil !== undefined) patch.validUntil = localTime(dash, body.validUntil, true);
      const split = splitPersonPatch(current, patch);
      const reason = body.reason ?? body.breakGlass?.reason ?? `edit of ${current.displayId}`;
      const inputs: NewRequest[] = [];
      if (Object.keys(split.validity).length > 0)
        inputs.push({
          kind: 'validity_change',
          payload: { personId: current.id, ...split.validity },
          reason,
        });
      if (split.lockdownOverride)
        inputs.push({ kind: 'lockdown_override', payload: { personId: current.id }, reason });
      const at = dash.now();
      if (inputs.length > 0) dash.requests.requirePerson(principal, 'create', inputs[0]!.kind, at);
      // What narrows applies first and at once; a break-glass use commits (and alarms) on its own.
      const apply = () => {
        registry.updatePerson(params.id, split.now, principal.actor, at);
        return fileAll(body.breakGlass ? [] : inputs, principal, undefined);
      };
      const rs = body.breakGlass
        ? [...apply(), ...fileAll(inputs, principal, body.breakGlass)]
        : controller.journal.transaction(apply);
      return { ...personView(dash, requirePerson(params.id)), requests: filed(rs) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/badges',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary:
      'Enrol a badge: `number` in a form the configured readers produce (docs/bridge-frame.md: 10 hex digits, ' +
      "W26:facility:card, facility:card, a line reader's line; `format` to choose). `warning` (English) when " +
      "the input may be a mistake, and `warningText` in the screen's language. Filed as a " +
      '`badge_enrol` request that a different person approves (answered as `request`), or carried out alone with ' +
      '`breakGlass`; the number is stored only as a keyed hash',
    params: IdParam,
    body: z.strictObject({
      number: z.string().trim().min(1).max(40),
      format: EnrolFormat.default('auto'),
      validFrom: LocalDate.nullable().optional(),
      validUntil: LocalDate.nullable().optional(),
      reason: z.string().trim().min(1).max(500).optional(),
      breakGlass: BreakGlassBody.optional(),
    }),
    handler: ({ params, body, principal, t }) => {
      const p = requirePerson(params.id);
      if (p.category === 'visitor')
        throw new ApiError(409, 'conflict', 'a visitor badge is handed out through its approved request');
      const typed = parsedCredentialOf(body.format, body.number, config.readers);
      const sealed = registry.sealCredential(typed.credential);
      const [r] = fileAll(
        [
          {
            kind: 'badge_enrol',
            payload: {
              personId: p.id,
              ...sealed,
              validFrom: localTime(dash, body.validFrom, false),
              validUntil: localTime(dash, body.validUntil, true),
            },
            reason: body.reason ?? body.breakGlass?.reason ?? `badge ${sealed.masked} for ${p.displayId}`,
          },
        ],
        principal,
        body.breakGlass,
      );
      const result = r!.result ?? {};
      const badge = typeof result.badgeId === 'string' ? registry.getBadge(result.badgeId) : undefined;
      return {
        request: requestView(r!),
        ...(badge ? { badge: badgeView(badge, dash.now()) } : {}),
        ...(typed.warning
          ? {
              warning: typed.warning,
              warningText: (typed.notes ?? []).map((n) => t(`credential_note_${n.code}`, n.vars)).join(' '),
            }
          : {}),
      };
    },
  });

  const setStatus = (status: 'lost' | 'revoked', perm: 'badges.lost' | 'badges.revoke', summary: string) =>
    addRoute(app, guard, {
      method: 'POST',
      url: `/api/badges/:id/${status === 'lost' ? 'lost' : 'revoke'}`,
      auth: perm,
      kind: 'json',
      tag: 'people',
      summary,
      params: IdParam,
      // A loss says where and when (journaled): the first thing asked when the card turns up or is misused.
      body:
        status === 'lost'
          ? z.strictObject({
              reason: z.string().trim().min(1, 'say where and when the card was lost').max(500),
            })
          : z.strictObject({ reason: z.string().trim().max(500).optional() }),
      handler: ({ params, body, principal }) => {
        const at = dash.now();
        const b = registry.setBadgeStatus(params.id, status, principal.actor, at, body.reason);
        dash.hub.notify();
        return { ...badgeView(b, at), effectiveAt: at };
      },
    });
  setStatus(
    'lost',
    'badges.lost',
    'Lost badge (§6(1)⑧): disabled at once, no approval; refused at every door from the moment this answers. ' +
      '`reason` (required): where and when it was lost, journaled',
  );

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/badges/:id/found',
    auth: 'badges.lost',
    kind: 'json',
    tag: 'people',
    summary:
      'A lost badge was found (`note`, required: where and by whom; journaled as `badge_found`). It is NOT valid ' +
      'again: it becomes revoked (final); to use the card again, enrol it through a request a different person ' +
      'approves. A visitor card is also taken back (returned). 409 unless the badge is lost',
    params: IdParam,
    body: z.strictObject({ note: z.string().trim().min(1, 'say where and by whom it was found').max(500) }),
    handler: ({ params, body, principal }) => {
      const at = dash.now();
      const b = registry.markBadgeFound(params.id, body.note, principal.actor, at);
      dash.hub.notify();
      return { ...badgeView(b, at, registry.getVisitorBadge(b.id)?.status), effectiveAt: at };
    },
  });
  setStatus('revoked', 'badges.revoke', 'Revoke a badge (final; issue a new one instead)');

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/escort-revoke',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Withdraw the permission to escort visitors, at once (granting it is a request)',
    params: IdParam,
    handler: ({ params, principal }) => {
      requirePerson(params.id);
      return { mayEscort: registry.setMayEscort(params.id, false, principal.actor, dash.now()) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/people/:id/revoke-door',
    auth: 'people.write',
    kind: 'json',
    tag: 'people',
    summary: 'Withdraw door access at once (revocation never waits for approval)',
    params: IdParam,
    body: z.strictObject({
      doorId: z.string().min(1).max(64),
      scheduleId: z.string().min(1).max(64).optional(),
    }),
    handler: ({ params, body, principal }) => {
      requirePerson(params.id);
      const removed = registry.revokeDoor(
        params.id,
        body.doorId,
        principal.actor,
        dash.now(),
        body.scheduleId,
      );
      return { removed };
    },
  });
}
