/**
 * The Live page: each door's lock, contact and mode, who is inside (visitors with their escort),
 * the active alarms and the latest entries, updated by a server-sent event stream without reload.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DoorMode, PersonCategory, presenceView } from '../../controller/domain/index.js';
import type { ControllerStatus } from '../../controller/runtime.js';
import { can } from '../auth/roles.js';
import type { Dash } from '../context.js';
import { html, type SafeHtml, when } from '../html.js';
import { ApiError, addRoute, SECURITY_HEADERS } from '../http.js';
import { translator } from '../i18n.js';
import {
  activeAlarmItem,
  categoryLabel,
  doorName,
  fmtTime,
  formError,
  type PageCtx,
  page,
  reasonLabel,
} from '../pages/layout.js';

interface EscortOption {
  id: string;
  label: string;
}

/** The people who may escort visitors (active staff with the permission), by name. */
function escortOptions(dash: Dash): EscortOption[] {
  const { registry } = dash.controller;
  return [...registry.getPeople(registry.listEscorts()).values()]
    .filter((p) => p.active && p.category === 'staff')
    .map((p) => ({ id: p.id, label: `${p.name} (${p.displayId})` }))
    .sort((a, b) => a.label.localeCompare(b.label, 'ja'));
}

/** A visitor's escort in the correction form; the current escort stays choosable even if no longer listed. */
function escortSelect(ctx: PageCtx, escorts: EscortOption[], current: string | null): SafeHtml {
  const { t, dash } = ctx;
  let list = escorts;
  if (current !== null && !escorts.some((e) => e.id === current)) {
    const p = dash.controller.registry.getPerson(current);
    list = [...escorts, { id: current, label: p ? `${p.name} (${p.displayId})` : current }];
  }
  return html`<select name="escort" required aria-label="${t('escort')}"><option value="">${t('presence_escort_choose')}</option>${list.map(
    (e) => html`<option value="${e.id}"${when(e.id === current, ' selected')}>${e.label}</option>`,
  )}</select>`;
}

/**
 * A door's people as rows of the presence correction form, in a template: the dialog (outside the
 * live panel, so that live updates do not reset what the manager is doing) copies them when it opens.
 */
function presenceRows(ctx: PageCtx, doorId: string, escorts: EscortOption[]): SafeHtml {
  const { dash, t } = ctx;
  const rows = presenceView(dash.controller.derived, doorId).map((o) => {
    const p = dash.controller.registry.getPerson(o.personId);
    const category = p?.category ?? o.category;
    const name = p?.name ?? t('unknown_person');
    return html`<tr data-person="${o.personId}" data-category="${category ?? ''}" class="${o.uncertain ? 'uncertain' : ''}">
  <td><input type="checkbox" name="inside" checked aria-label="${t('presence_inside')}: ${name}"></td>
  <td>${name}${o.uncertain ? html` <span class="tag warn" title="${t('uncertain_hint')}">${t('uncertain')}</span>` : ''}</td>
  <td>${p?.displayId ?? o.personId}</td>
  <td><span class="tag cat-${category ?? 'unknown'}">${categoryLabel(t, category)}</span></td>
  <td>${category === 'visitor' ? escortSelect(ctx, escorts, o.escort) : ''}</td>
</tr>`;
  });
  return html`<template data-presence-rows="${doorId}">${rows}</template>`;
}

/** The presence correction dialog of the Live page (managers): one for all doors. */
function presenceDialog(ctx: PageCtx): SafeHtml {
  const { dash, t } = ctx;
  return html`<dialog id="presence-dialog" class="presence" aria-labelledby="presence-title">
<form id="presence-form" data-presence-form data-stale="${t('presence_stale')}" data-added="${t('presence_added')}">
  <h2 id="presence-title">${t('presence_title')} — <span data-field="door-name"></span></h2>
  <p class="hint">${t('presence_hint')}</p>
  <p class="notice warn" data-field="stale" role="alert" hidden>${t('presence_stale')}</p>
  <table class="grid presence-rows">
    <thead><tr><th>${t('presence_inside')}</th><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('category')}</th><th>${t('escort')}</th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" data-field="nobody" hidden>${t('nobody_inside')}</p>
  <div class="presence-add">
    <label>${t('presence_search')}
      <input type="search" name="find" data-presence-find maxlength="100" autocomplete="off" placeholder="${t('presence_search')}">
    </label>
    <label>${t('presence_add')}
      <select name="add" id="presence-add-person" data-none="${t('presence_search_none')}" data-category-labels="${JSON.stringify(Object.fromEntries(PersonCategory.options.map((c) => [c, categoryLabel(t, c)])))}"><option value="">${t('presence_choose')}</option></select>
    </label>
    <button type="button" data-presence-add>${t('presence_add_button')}</button>
  </div>
  <p class="hint">${t('presence_escort_hint')}</p>
  <template id="presence-escort-select">${escortSelect(ctx, escortOptions(dash), null)}</template>
  <label class="presence-note">${t('presence_note')}
    <textarea name="note" required maxlength="500" rows="2" placeholder="${t('presence_note_placeholder')}"></textarea>
  </label>
  ${formError}
  <div class="buttons">
    <button type="submit" class="primary">${t('presence_submit')}</button>
    <button type="button" data-presence-cancel>${t('cancel')}</button>
  </div>
</form>
</dialog>`;
}

export function renderLivePanel(ctx: PageCtx, status: ControllerStatus): SafeHtml {
  const { dash, t, principal } = ctx;
  const role = principal.user.role;
  const people = new Map<string, ReturnType<typeof dash.controller.registry.getPerson>>();
  const person = (id: string) => {
    if (!people.has(id)) people.set(id, dash.controller.registry.getPerson(id));
    return people.get(id);
  };
  const recent = dash.controller.journal.query({ types: ['access'], limit: 8 });
  const readerFor = (doorId: string) => {
    const d = dash.controller.config.doors.find((x) => x.id === doorId);
    return status.readers.filter((r) => r.id === d?.entryReader || r.id === d?.exitReader);
  };
  let escortList: EscortOption[] | undefined;
  const escorts = () => {
    escortList ??= escortOptions(dash);
    return escortList;
  };
  const doors = status.doors.map((d) => {
    const inside = presenceView(dash.controller.derived, d.id).map((o) => {
      const p = person(o.personId);
      const escort = o.escort ? person(o.escort) : undefined;
      const category = p?.category ?? o.category;
      const cls = [
        category === 'visitor' ? 'visitor' : '',
        o.escorted === false ? 'unescorted' : '',
        o.uncertain ? 'uncertain' : '',
      ]
        .filter(Boolean)
        .join(' ');
      return html`<tr class="${cls}" data-person="${o.personId}">
  <td>${p?.name ?? t('unknown_person')}${o.uncertain ? html` <span class="tag warn" title="${t('uncertain_hint')}">${t('uncertain')}</span>` : ''}</td><td>${p?.displayId ?? o.personId}</td>
  <td><span class="tag cat-${category ?? 'unknown'}">${categoryLabel(t, category)}</span></td>
  <td>${o.escort ? html`${escort?.name ?? o.escort}${o.escorted === false ? html` <span class="tag bad">${t('unescorted')}</span>` : ''}` : category === 'visitor' ? html`<span class="tag bad">${t('unescorted')}</span>` : ''}</td>
  <td class="nowrap">${fmtTime(dash, o.since)}</td>
</tr>`;
    });
    return html`<section class="card door" data-door="${d.id}">
  <h2>${d.name}</h2>
  <div class="door-state">
    <div class="state ${d.locked ? 'good' : 'warn'}" data-field="lock"><span>${t('lock')}</span><strong>${d.locked ? t('locked') : t('unlocked')}</strong></div>
    <div class="state ${d.contact === 'closed' ? 'good' : d.contact === 'open' ? 'warn' : 'unknown'}" data-field="contact"><span>${t('contact')}</span><strong>${t(`contact_${d.contact}`)}</strong></div>
    <div class="state ${d.mode === 'normal' ? 'good' : 'bad'}" data-field="mode"><span>${t('mode')}</span><strong>${t(`mode_${d.mode}`)}</strong></div>
  </div>
  <p class="readers">${t('readers')}: ${readerFor(d.id).map(
    (r) =>
      html`<span class="tag ${r.online ? 'ok' : 'bad'}">${r.id} ${r.online ? t('online') : t('offline')}</span> `,
  )}</p>
  ${
    can(role, 'doors.mode')
      ? html`<p class="actions">${
          d.mode === 'normal'
            ? html`<button type="button" class="danger" data-api="/api/doors/${d.id}/mode" data-method="POST" data-body='{"mode":"lockdown"}' data-confirm="${t('confirm_action')}">${t('set_lockdown')}</button>`
            : html`<button type="button" data-api="/api/doors/${d.id}/mode" data-method="POST" data-body='{"mode":"normal"}' data-confirm="${t('confirm_action')}">${t('set_normal')}</button>`
        } <button type="button" id="presence-open-${d.id}" data-presence-open="${d.id}" data-door-name="${d.name}">${t('presence_correct')}</button></p>
  ${presenceRows(ctx, d.id, escorts())}`
      : ''
  }
  <h3>${t('who_inside')} <span class="count-inline" data-field="occupancy">${d.occupants.length}</span></h3>
  ${
    inside.length
      ? html`<table class="grid inside"><thead><tr><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('category')}</th><th>${t('escort')}</th><th>${t('since')}</th></tr></thead><tbody>${inside}</tbody></table>`
      : html`<p class="empty">${t('nobody_inside')}</p>`
  }
</section>`;
  });
  const alarms = status.alarms.map((a) => activeAlarmItem(dash, t, role, a, { link: false }));
  const oneDoor = dash.controller.config.doors.length === 1;
  const today = fmtTime(dash, dash.now()).slice(0, 10);
  /** Today's rows show the time only; older ones the date too. */
  const shortTime = (at: number) => {
    const s = fmtTime(dash, at);
    return s.startsWith(today) ? s.slice(11) : s.slice(5, 16);
  };
  const events = recent.map((r) => {
    const d = r.data as Record<string, unknown>;
    return html`<tr class="${d.result === 'granted' ? 'granted' : 'denied'}" data-seq="${r.seq}">
  <td class="nowrap">${shortTime(r.at)}</td>${oneDoor ? '' : html`<td class="nowrap">${doorName(dash, r.door)}</td>`}<td class="nowrap">${t(String(d.direction))}</td>
  <td class="ellipsis">${typeof d.personName === 'string' ? d.personName : t('unknown_person')}</td>
  <td class="mono nowrap">${typeof d.masked === 'string' ? d.masked : ''}</td>
  <td class="nowrap"><span class="tag ${d.result === 'granted' ? 'ok' : 'bad'}">${t(String(d.result))}</span>${d.result === 'granted' ? '' : html`<div class="small">${reasonLabel(t, String(d.reason))}</div>`}</td>
</tr>`;
  });
  return html`<div class="live-grid">
<div class="col">${doors}</div>
<div class="col">
<section class="card alarms-card">
  <h2>${t('active_alarms')} <span class="count-inline" data-field="alarm-count">${status.alarms.length}</span></h2>
  ${alarms.length ? html`<ul class="alarms">${alarms}</ul>` : html`<p class="empty">${t('no_active_alarms')}</p>`}
</section>
<section class="card">
  <h2>${t('recent_events')}</h2>
  ${
    events.length
      ? html`<table class="grid recent"><thead><tr><th>${t('time')}</th>${oneDoor ? '' : html`<th>${t('door')}</th>`}<th>${t('direction')}</th><th>${t('person')}</th><th>${t('badge')}</th><th>${t('result')}</th></tr></thead><tbody>${events}</tbody></table>`
      : html`<p class="empty">${t('no_rows')}</p>`
  }
  <p class="meta">${t('journal_head')}: #${status.journal.headSeq} · <span class="${status.journal.storageOk ? 'good' : 'bad'}">${status.journal.storageOk ? t('storage_ok') : t('storage_fault')}</span>
  · MQTT: ${
    status.mqtt.configured
      ? html`<span class="${status.mqtt.connected ? 'good' : 'bad'}" id="mqtt-state">${status.mqtt.connected ? t('mqtt_connected') : t('mqtt_disconnected')}</span>${status.mqtt.backlog > 0 ? ` (${t('mqtt_backlog', { n: status.mqtt.backlog })})` : ''}`
      : t('mqtt_not_configured')
  }</p>
</section>
</div>
</div>`;
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
      const ctx = { dash, t, lang, principal: principal };
      const manager = can(ctx.principal.user.role, 'doors.mode');
      return page(ctx, {
        title: t('live_title'),
        active: 'live',
        wide: true,
        body: html`<h1>${t('live_title')} <span class="live-indicator" id="live-indicator" data-ok="${t('live_connected')}" data-lost="${t('live_disconnected')}">…</span></h1>
${manager ? html`<p class="notice" id="presence-done" role="status" hidden>${t('presence_done')}</p>` : ''}
<div id="live-panel" data-live="/api/live?html=1">${renderLivePanel(ctx, controller.status())}</div>
${manager ? presenceDialog(ctx) : ''}`,
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/status',
    auth: 'live.read',
    kind: 'json',
    tag: 'live',
    summary: 'Doors (lock, contact, mode, occupants), readers, active alarms, journal head',
    handler: () => controller.status(),
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
      'Server-sent events: `status` (the /api/status body, and with html=1 the Live panel as HTML) at once and ' +
      'after every change; `expired` when the session ends. Watching does not keep a session alive.',
    query: z.strictObject({ html: z.enum(['0', '1']).optional() }),
    handler: ({ req, reply, query, principal, lang }) => {
      const p = principal;
      const t = translator(lang);
      const withHtml = query.html === '1';
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
      const valid = () => {
        if (p.kind === 'token') return true;
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
          let panel: string | undefined;
          if (withHtml) {
            const key = `html:${lang}:${p.user.role}`;
            panel = memo.get(key) as string | undefined;
            if (panel === undefined) {
              panel = renderLivePanel({ dash, t, lang, principal: p }, status).value;
              memo.set(key, panel);
            }
          }
          send('status', panel === undefined ? { status } : { status, html: panel });
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
