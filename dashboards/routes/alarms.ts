/**
 * Alarms (POLICY §7(1)①イ, §4(2)②③): latched until acknowledged; an acknowledgement needs a
 * comment and records who and when; the history, and for each alarm the journal rows around it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AlarmType, dataFields, RecordSchemas, VisitRecordSchemas } from '../../controller/domain/index.js';
import { orderAlarms } from '../alarm-order.js';
import type { Dash } from '../context.js';
import { parseTimeCursor, timeCursor } from '../cursor.js';
import { ApiError, addRoute, NumericIdParam, type Principal } from '../http.js';
import { AlarmEntry } from '../logindex.js';
import { maskAlarm, maskEntry, masksNames } from '../monitor.js';
import { alarmPage, alarmsPage } from '../pages/alarms.js';
import { maskForSentences, referencedIds } from '../sentences.js';
import { shellOf } from '../views.js';

const HistoryQuery = z.strictObject({
  type: z.string().max(64).optional(),
  cursor: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Door, access and alarm records — never accounts, logins or requests — may appear beside an alarm. */
const CONTEXT_TYPES = [...Object.keys(RecordSchemas), ...Object.keys(VisitRecordSchemas)];

/**
 * Journal rows within two minutes of the alarm, on its door (§4(2)③: investigate cause and scope).
 * Only the controller's own record types: an alarm without a door must not show an operator the
 * account and login rows of the same minutes.
 */
function context(dash: Dash, at: number, door: string | null) {
  return dash.controller.journal
    .query({
      from: at - 120_000,
      to: at + 120_001,
      ...(door ? { door } : {}),
      types: CONTEXT_TYPES,
      limit: 40,
    })
    .map((r) => ({
      seq: r.seq,
      at: r.at,
      type: r.type,
      door: r.door,
      person: r.person,
      actor: r.actor,
      data: r.data,
    }));
}

/** A monitor with masked names sees the rows around an alarm without their contents (names). */
function maskedContext(rows: ReturnType<typeof context>): ReturnType<typeof context> {
  return rows.map((r) => ({ ...r, person: null, data: {} }));
}

/**
 * The rows around an alarm as a monitor with masked names has them put into words: each person by
 * their role, without names, cards or free text (dashboards/sentences.ts maskForSentences).
 */
function saidMasked(dash: Dash, rows: ReturnType<typeof context>): ReturnType<typeof context> {
  const ids = referencedIds(rows).people;
  const people = dash.controller.registry.getPeople(ids);
  return rows.map((r) => maskForSentences(r, (id) => people.get(id)?.category));
}

/** A page of the alarm history, newest first, and the cursor of the next (the page and the live stream). */
export async function alarmHistory(
  dash: Dash,
  q: { type?: string | undefined; cursor?: string | undefined; limit: number },
) {
  const { index } = dash;
  await index.sync();
  const before = q.cursor ? parseTimeCursor(q.cursor) : undefined;
  const rows = index.alarms({
    ...(q.type ? { types: [q.type] } : {}),
    ...(before ? { before } : {}),
    limit: q.limit,
  });
  const last = rows.at(-1);
  return { rows, next: rows.length === q.limit && last ? timeCursor(last.at, last.id) : null };
}

export function registerAlarmRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller, index } = dash;

  /** The active alarms by severity, then newest; without details for a monitor with masked names. */
  const activeFor = (principal: Principal) => {
    const all = controller.activeAlarms();
    return orderAlarms(masksNames(principal) ? all.map(maskAlarm) : all);
  };

  const history = (q: z.infer<typeof HistoryQuery>) => alarmHistory(dash, q);

  addRoute(app, guard, {
    method: 'GET',
    url: '/alarms',
    auth: 'alarms.read',
    kind: 'page',
    tag: 'alarms',
    summary: 'Active alarms (acknowledge with a comment) and the history',
    query: HistoryQuery,
    handler: async ({ t, lang, principal, query }) => {
      const active = activeFor(principal);
      const { rows: all, next } = await history(query);
      const rows = masksNames(principal) ? all.map(maskEntry) : all;
      const shell = shellOf(dash, { t, lang, principal }, [
        ...active.map((a) => a.acknowledged?.by),
        ...rows.map((a) => a.ackedBy),
      ]);
      return alarmsPage(shell, {
        active,
        types: AlarmType.options,
        type: query.type,
        history: rows,
        next,
        cursor: query.cursor,
        limit: query.limit,
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/alarms/:id',
    auth: 'alarms.read',
    kind: 'page',
    tag: 'alarms',
    summary: 'One alarm and the journal rows around it',
    params: NumericIdParam,
    handler: async ({ t, lang, principal, params }) => {
      await index.sync();
      const found = index.alarm(params.id);
      if (!found) throw new ApiError(404, 'not_found', `no alarm ${params.id}`);
      const masked = masksNames(principal);
      const a = masked ? maskEntry(found) : found;
      const rows = masked ? saidMasked(dash, context(dash, a.at, a.door)) : context(dash, a.at, a.door);
      // Whom and what the alarm is about: columns of its raised row that the history does not keep.
      const raised = dash.controller.journal.get(a.id);
      const source = raised ? dataFields(raised).source : undefined;
      const subject = {
        person: masked ? null : (raised?.person ?? null),
        source: typeof source === 'string' ? source : null,
      };
      const shell = shellOf(
        dash,
        { t, lang, principal },
        [a.ackedBy, ...rows.map((r) => r.actor)],
        [...rows, { person: subject.person, detail: a.detail }],
      );
      return alarmPage(shell, a, rows, subject);
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'The active (latched) alarms, by severity (critical, major, minor, warning), then newest first',
    handler: ({ principal }) => ({ alarms: activeFor(principal) }),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms/history',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'Every alarm raised, newest first, with who acknowledged it, when and why',
    query: HistoryQuery,
    response: z.object({ rows: z.array(AlarmEntry), next: z.string().nullable() }),
    handler: async ({ query, principal }) => {
      const h = await history(query);
      return masksNames(principal) ? { ...h, rows: h.rows.map(maskEntry) } : h;
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/alarms/:id',
    auth: 'alarms.read',
    kind: 'json',
    tag: 'alarms',
    summary: 'One alarm, and the journal rows within two minutes of it on its door',
    params: NumericIdParam,
    handler: async ({ params, principal }) => {
      await index.sync();
      const a = index.alarm(params.id);
      if (!a) throw new ApiError(404, 'not_found', `no alarm ${params.id}`);
      if (masksNames(principal))
        return { alarm: maskEntry(a), context: maskedContext(context(dash, a.at, a.door)) };
      return { alarm: a, context: context(dash, a.at, a.door) };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/alarms/:id/ack',
    auth: 'alarms.ack',
    kind: 'json',
    tag: 'alarms',
    summary: 'Acknowledge an alarm with a comment; the journal records who and when',
    params: NumericIdParam,
    body: z.strictObject({ comment: z.string().trim().min(1).max(500) }),
    handler: ({ params, body, principal }) => {
      const active = controller.activeAlarms().find((a) => a.id === params.id);
      if (!active) throw new ApiError(404, 'not_found', `no active alarm ${params.id}`);
      if (active.acknowledged)
        throw new ApiError(409, 'conflict', `alarm ${params.id} is already acknowledged`);
      if (!controller.acknowledgeAlarm(params.id, principal.actor, body.comment))
        throw new ApiError(503, 'storage_unavailable', 'the acknowledgement could not be recorded');
      return { alarm: controller.activeAlarms().find((a) => a.id === params.id) ?? null, acknowledged: true };
    },
  });
}
