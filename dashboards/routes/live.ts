/**
 * The Live page: each door's lock, contact and mode, who is inside (visitors with their escort),
 * the active alarms and the latest entries, updated by a server-sent event stream without reload.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { can } from '../../controller/accounts/roles.js';
import { DoorMode, dataFields, presenceView } from '../../controller/domain/index.js';
import type { ControllerStatus } from '../../controller/runtime/index.js';
import { orderAlarms } from '../alarm-order.js';
import { commissioningOf } from '../commissioning.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute, type Principal, SECURITY_HEADERS } from '../http.js';
import { type Lang, type Translate, translator } from '../i18n.js';
import { maskAlarm, maskEntry, maskStatus, masksNames } from '../monitor.js';
import { activeAlarmList, alarmHistoryList } from '../pages/alarms.js';
import { alarmBanner, alarmHeadline, may } from '../pages/layout.js';
import {
  type EscortOption,
  type LiveDoorView,
  type LivePanelView,
  livePage,
  livePanel,
} from '../pages/live.js';
import { maskForSentences } from '../sentences.js';
import { shellOf } from '../views.js';
import { alarmHistory } from './alarms.js';

/** The people who may escort visitors (active staff with the permission), by name. */
function escortOptions(dash: Dash): EscortOption[] {
  const { registry } = dash.controller;
  return [...registry.getPeople(registry.listEscorts()).values()]
    .filter((p) => p.active && p.category === 'staff')
    .map((p) => ({ id: p.id, label: `${p.name} (${p.displayId})` }))
    .sort((a, b) => a.label.localeCompare(b.label, 'ja'));
}

/** How far back from the head the Live panel looks for its latest badges, row by row. */
const RECENT_SCAN_ROWS = 200;

/**
 * The latest access rows in the order they happened (by seq, newest first) — not by their time: after
 * the clock stepped back, the newest badges carry earlier times than the ones before the step and
 * would otherwise drop off the list. Looks back row by row from the head; a quiet door whose last
 * badges lie further back is filled from the log's time order.
 */
function latestAccess(journal: Dash['controller']['journal'], limit: number) {
  const out: ReturnType<typeof journal.query> = [];
  const head = journal.head().seq;
  for (let seq = head; seq > 0 && seq > head - RECENT_SCAN_ROWS && out.length < limit; seq--) {
    const row = journal.get(seq);
    if (row?.type === 'access') out.push(row);
  }
  if (out.length < limit) {
    const have = new Set(out.map((r) => r.seq));
    for (const r of journal.query({ types: ['access'], limit })) if (!have.has(r.seq)) out.push(r);
    out.sort((a, b) => b.seq - a.seq).splice(limit);
  }
  return out;
}

/**
 * The Live panel's view-model; `manager`: the viewer may correct presence (gets the escorts);
 * `mask`: the text shown instead of every name and ID (a monitor with masked names), or null.
 */
function livePanelView(
  dash: Dash,
  status: ControllerStatus,
  manager: boolean,
  mask: string | null = null,
): LivePanelView {
  const { registry, config, derived, journal } = dash.controller;
  const people = new Map<string, ReturnType<typeof registry.getPerson>>();
  const person = (id: string) => {
    if (!people.has(id)) people.set(id, registry.getPerson(id));
    return people.get(id);
  };
  const readerFor = (doorId: string) => {
    const d = config.doors.find((x) => x.id === doorId);
    return status.readers.filter((r) => r.id === d?.entryReader || r.id === d?.exitReader);
  };
  const commissioning = new Map(commissioningOf(dash).map((c) => [c.door, c.state]));
  const doors = status.doors.map((d) => ({
    commissioning: commissioning.get(d.id),
    barred: status.commissioning.find((c) => c.door === d.id)?.barred === true,
    id: d.id,
    name: d.name,
    locked: d.locked,
    contact: d.contact,
    mode: d.mode,
    occupancy: d.occupants.length,
    readers: readerFor(d.id),
    inside: presenceView(derived, d.id).map((o) => {
      const p = person(o.personId);
      const escort = o.escort ? person(o.escort) : undefined;
      return {
        personId: o.personId,
        person: p ?? null,
        category: p?.category ?? o.category,
        uncertain: o.uncertain,
        since: o.since,
        escort: o.escort,
        escortPerson: escort ?? null,
        escorted: o.escorted,
      };
    }),
  }));
  const shown: LiveDoorView[] =
    mask === null
      ? doors
      : doors.map((d) => ({
          ...d,
          inside: d.inside.map((o, i) => ({
            ...o,
            personId: `masked-${d.id}-${i}`,
            person: { name: mask, displayId: mask },
            escort: o.escort ? mask : null,
            escortPerson: o.escort ? { name: mask, displayId: mask } : null,
          })),
        }));
  const recent = latestAccess(journal, 8).map((r) => {
    const d = dataFields(r);
    // Masked: the sentence says who by their role (職員（氏名非表示）), from a row without names.
    const said =
      mask === null
        ? { person: r.person, data: r.data }
        : maskForSentences({ person: r.person, data: r.data }, (id) => person(id)?.category);
    return {
      seq: r.seq,
      at: r.at,
      door: r.door,
      direction: String(d.direction),
      result: String(d.result),
      reason: String(d.reason),
      personName: typeof d.personName !== 'string' ? null : (mask ?? d.personName),
      masked: typeof d.masked === 'string' && mask === null ? d.masked : null,
      person: said.person,
      data: said.data,
    };
  });
  return {
    doors: shown,
    alarms: orderAlarms(mask === null ? status.alarms : status.alarms.map(maskAlarm)),
    recent,
    now: dash.now(),
    journal: status.journal,
    storage: status.storage,
    mqtt: status.mqtt,
    clock: { synchronised: status.clock.synchronised, restriction: status.clock.restriction },
    power: status.power,
    escorts: manager ? escortOptions(dash) : [],
  };
}

/** The Live panel as `principal` sees it. */
function renderLivePanel(
  dash: Dash,
  ctx: { t: Translate; lang: Lang; principal: Principal },
  status: ControllerStatus,
) {
  const shell = shellOf(
    dash,
    ctx,
    status.alarms.map((a) => a.acknowledged?.by),
  );
  const mask = masksNames(ctx.principal) ? ctx.t('name_masked') : null;
  return livePanel(shell, livePanelView(dash, status, may(shell, 'doors.mode'), mask));
}

/** The status as `principal` may see it: alarms by severity then newest, names left out if masked. */
function statusFor(status: ControllerStatus, principal: Principal): ControllerStatus {
  const s = masksNames(principal) ? maskStatus(status) : status;
  return { ...s, alarms: orderAlarms(s.alarms) };
}

/**
 * What every page shows of the alarms, live: the count of unacknowledged ones, the banner of the
 * unacknowledged critical ones, the Alarms page's list, and one sentence per unacknowledged alarm
 * for the screen reader's announcement.
 */
function alarmBar(
  dash: Dash,
  ctx: { t: Translate; lang: Lang; principal: Principal },
  status: ControllerStatus,
) {
  const masked = masksNames(ctx.principal);
  const alarms = orderAlarms(masked ? status.alarms.map(maskAlarm) : status.alarms);
  const shell = shellOf(
    dash,
    ctx,
    alarms.map((a) => a.acknowledged?.by),
  );
  const unacked = alarms.filter((a) => !a.acknowledged);
  return {
    unacked: unacked.length,
    critical: unacked.filter((a) => a.severity === 'critical').length,
    banner: alarmBanner(shell, alarms).value,
    list: activeAlarmList(shell, alarms).value,
    announce: unacked.map((a) => ({ id: a.id, text: alarmHeadline(shell, a) })),
  };
}

/** The Alarms page's history as `principal` sees it (details and comments left out if masked). */
async function historyHtml(
  dash: Dash,
  ctx: { t: Translate; lang: Lang; principal: Principal },
  type: string | undefined,
  limit: number,
): Promise<string> {
  const { rows: all, next } = await alarmHistory(dash, { type, limit });
  const rows = masksNames(ctx.principal) ? all.map(maskEntry) : all;
  const shell = shellOf(
    dash,
    ctx,
    rows.map((a) => a.ackedBy),
  );
  return alarmHistoryList(shell, { history: rows, next, type }).value;
}

const DoorParams = z.strictObject({ door: z.string().min(1).max(64) });

export function registerLiveRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller, hub, sessions, users } = dash;
  const streams = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...streams]) end();
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/',
    auth: 'live.read',
    kind: 'page',
    tag: 'live',
    summary: 'The Live page',
    handler: ({ t, lang, principal }) => {
      const status = controller.status();
      const shell = shellOf(
        dash,
        { t, lang, principal },
        status.alarms.map((a) => a.acknowledged?.by),
      );
      const mask = masksNames(principal) ? t('name_masked') : null;
      return livePage(shell, livePanelView(dash, status, may(shell, 'doors.mode'), mask));
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/status',
    auth: 'live.read',
    kind: 'json',
    tag: 'live',
    summary:
      'Doors (lock, contact, mode, occupants), readers, active alarms (by severity, then newest first), journal head',
    handler: ({ principal }) => statusFor(controller.status(), principal),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/live',
    auth: 'live.read',
    kind: 'stream',
    tag: 'live',
    produces: 'text/event-stream',
    touch: false,
    summary:
      'Server-sent events: `status` (the /api/status body, and with html=1 for a session the Live panel as HTML; with ' +
      'alarms=1 for a session `alarms`: the unacknowledged count, the critical-alarm banner and the Alarms page list as HTML, ' +
      'and a sentence for each unacknowledged alarm) ' +
      'at once and after every change; with history=1 for a session that may read alarms `alarm-history` (the Alarms ' +
      "page's history, its first page with `type` and `limit`, as HTML) when it changed; " +
      '`expired` when the session ends or the token is revoked, rotated or expires. ' +
      'Watching does not keep a session alive.',
    query: z.strictObject({
      html: z.enum(['0', '1']).optional(),
      alarms: z.enum(['0', '1']).optional(),
      history: z.enum(['0', '1']).optional(),
      type: z.string().max(64).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    handler: ({ req, reply, query, principal, lang }) => {
      const p = principal;
      const t = translator(lang);
      const withHtml = query.html === '1';
      const withAlarms = query.alarms === '1';
      // The Alarms page's history (its first page, with its filter), for a person who may read it.
      const withHistory = query.history === '1' && p.kind === 'session' && can(p.user.role, 'alarms.read');
      let lastHistory: string | null = null;
      const headers: Record<string, string> = { ...SECURITY_HEADERS };
      headers['content-type'] = 'text/event-stream; charset=utf-8';
      headers['cache-control'] = 'no-store';
      headers['x-accel-buffering'] = 'no';
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, headers);
      res.write('retry: 3000\n\n');
      let ended = false;
      const send = (event: string, data: unknown) => {
        if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      // A revoked, rotated or expired token ends its stream as a logout ends a session's.
      const valid = () => {
        if (p.kind === 'token') return dash.tokens.stillValid(p.token, dash.now());
        const u = users.get(p.user.id);
        return (
          !!p.session &&
          sessions.stillValid(p.session.tokenHash, dash.now()) &&
          !!u &&
          u.active &&
          u.role === p.user.role
        );
      };
      const client = {
        push(memo: Map<string, unknown>) {
          if (!valid()) {
            send('expired', {});
            end();
            return;
          }
          let status = memo.get('status') as ControllerStatus | undefined;
          if (!status) {
            status = controller.status();
            memo.set('status', status);
          }
          const masked = masksNames(p);
          // What this viewer sees differs by language, role and masking only: shared per update.
          const cached = (part: string, make: () => unknown) => {
            const key = `${part}:${lang}:${p.user?.role ?? 'token'}:${masked}`;
            if (!memo.has(key)) memo.set(key, make());
            return memo.get(key);
          };
          const body: Record<string, unknown> = {
            status: cached('status', () => statusFor(status, p)),
          };
          // The panel's HTML is the Live page's, for people; a token gets the status alone.
          if (withHtml && p.kind === 'session')
            body.html = cached('html', () => renderLivePanel(dash, { t, lang, principal: p }, status).value);
          // Every page's alarm count, banner and the Alarms page's list (dashboards/assets/alarms.js).
          if (withAlarms && p.kind === 'session')
            body.alarms = cached('alarms', () => alarmBar(dash, { t, lang, principal: p }, status));
          send('status', body);
          if (withHistory) {
            const key = `history:${query.type ?? ''}:${query.limit}:${lang}:${p.user?.role}:${masked}`;
            if (!memo.has(key))
              memo.set(key, historyHtml(dash, { t, lang, principal: p }, query.type, query.limit));
            // Sent only when it changed: most updates (a badge) leave the history as it was.
            (memo.get(key) as Promise<string>).then(
              (html) => {
                if (html === lastHistory) return;
                lastHistory = html;
                send('alarm-history', { html });
              },
              (err: unknown) => dash.controller.log.warn('alarm history not sent', { error: String(err) }),
            );
          }
        },
      };
      const heartbeat = setInterval(() => {
        if (!valid()) {
          send('expired', {});
          end();
        } else if (!ended) res.write(': keep-alive\n\n');
      }, 15_000);
      heartbeat.unref();
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        hub.remove(client);
        streams.delete(end);
        res.end();
      };
      streams.add(end);
      req.raw.on('close', end);
      hub.add(client);
      client.push(new Map());
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/doors/:door/mode',
    auth: 'doors.mode',
    kind: 'json',
    tag: 'live',
    summary: 'Set a door to lockdown (only override badges open it) or back to normal; at once, journaled',
    params: DoorParams,
    body: z.strictObject({ mode: DoorMode }),
    response: z.object({ door: z.string(), mode: DoorMode }),
    handler: ({ params, body, principal }) => {
      if (!controller.config.doors.some((d) => d.id === params.door))
        throw new ApiError(404, 'unknown_door', `no door "${params.door}"`);
      controller.setMode(params.door, body.mode, principal.actor);
      return { door: params.door, mode: body.mode };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/doors/:door/presence',
    auth: 'doors.mode',
    kind: 'json',
    tag: 'live',
    summary:
      'Reconcile who is inside a room (after exit-button exits made presence uncertain); journaled with the actor and a note. ' +
      "A visitor's `escort` must be someone who may escort (or their current escort). With `seen` (the ids the caller saw " +
      'inside) it is refused with 409 `presence_changed` if the room changed meanwhile; 503 `storage_unavailable` when the ' +
      'journal cannot be written (the record is queued and takes effect when storage recovers).',
    params: DoorParams,
    body: z.strictObject({
      present: z
        .array(
          z.strictObject({
            personId: z.string().min(1).max(64),
            escort: z.string().min(1).max(64).nullish(),
          }),
        )
        .max(200),
      note: z.string().trim().min(1).max(500),
      seen: z.array(z.string().min(1).max(64)).max(200).optional(),
    }),
    response: z.object({ door: z.string(), inside: z.number() }),
    handler: ({ params, body, principal }) => {
      if (!controller.config.doors.some((d) => d.id === params.door))
        throw new ApiError(404, 'unknown_door', `no door "${params.door}"`);
      const { registry } = controller;
      const before = presenceView(controller.derived, params.door);
      for (const p of body.present) {
        if (!registry.getPerson(p.personId))
          throw new ApiError(400, 'invalid_request', `present: no person "${p.personId}"`);
        if (p.escort == null) continue;
        // An escort is someone who may escort, or the one the visitor has now (even if no longer allowed).
        const escort = registry.getPerson(p.escort);
        const current = before.find((o) => o.personId === p.personId)?.escort === p.escort;
        if (
          !escort ||
          escort.id === p.personId ||
          (!current && (escort.category !== 'staff' || !registry.mayEscort(escort.id)))
        )
          throw new ApiError(400, 'invalid_request', `present: "${p.escort}" may not escort visitors`);
      }
      // The correction states the whole room: refuse it if the room changed since the caller looked.
      if (body.seen) {
        const now = before.map((o) => o.personId).sort();
        const seen = [...new Set(body.seen)].sort();
        if (now.length !== seen.length || now.some((id, i) => id !== seen[i]))
          throw new ApiError(
            409,
            'presence_changed',
            'who is inside changed since the caller looked (seen); nothing was recorded',
          );
      }
      try {
        controller.reconcilePresence(params.door, body.present, principal.actor, body.note);
      } catch (err) {
        if (controller.status().journal.storageOk) throw err;
        throw new ApiError(
          503,
          'storage_unavailable',
          'the journal cannot be written; the correction is queued and takes effect when storage recovers',
        );
      }
      return { door: params.door, inside: presenceView(controller.derived, params.door).length };
    },
  });
}
