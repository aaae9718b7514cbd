/**
 * The parts of the pages' view-models that every route builds the same way: the shell (who is
 * looking, the site, the alarm count) and the labels of the accounts a page names.
 */

import { orderAlarms } from './alarm-order.js';
import type { Dash } from './context.js';
import { ApiError, type Principal } from './http.js';
import type { Lang, Translate } from './i18n.js';
import { maskAlarm, masksNames } from './monitor.js';
import type { ActorNames, Shell } from './pages/layout.js';
import { type Names, referencedIds } from './sentences.js';

/** The display labels of those of `actors` that are dashboard accounts (`user:…`). */
export function actorNames(dash: Dash, actors: Iterable<string | null | undefined>): ActorNames {
  const out = new Map<string, string>();
  for (const actor of actors) {
    if (!actor?.startsWith('user:') || out.has(actor)) continue;
    const u = dash.users.byUsername(actor.slice(5));
    if (u) out.set(actor, `${u.displayName} (${u.username})`);
  }
  return out;
}

/**
 * The names a page's sentences need (dashboards/sentences.ts): the people and cards that `rows`
 * (journal rows, alarms) refer to, each kind in one registry query, and the doors, readers and
 * schedules of the config. Also used by routes that render sentences outside a page.
 */
export function namesFor(
  dash: Dash,
  rows: readonly { person?: string | null; data?: unknown; detail?: string }[],
  actors: ActorNames,
): Names {
  const { registry, config } = dash.controller;
  const ids = referencedIds(rows);
  const people = new Map<string, { name: string; displayId: string; category: string }>();
  for (const [id, p] of registry.getPeople(ids.people))
    people.set(id, { name: p.name, displayId: p.displayId, category: p.category });
  const badges = new Map<string, string>();
  // A page names a few cards at most (a context of 40 rows): one keyed read each.
  for (const id of ids.badges) {
    const b = registry.getBadge(id);
    if (b) badges.set(id, b.masked);
  }
  return {
    people,
    badges,
    doors: config.doors,
    schedules: new Map(config.schedules.map((s) => [s.id, s.name ?? s.id])),
    actors,
    tz: dash.tz,
  };
}

/**
 * The shell of a page for `principal`; `actors`: the accounts the page will name; `rows`: the
 * journal rows and alarms whose people its sentences name (the active alarms' always are).
 */
export function shellOf(
  dash: Dash,
  ctx: { t: Translate; lang: Lang; principal: Principal },
  actors: Iterable<string | null | undefined> = [],
  rows: readonly { person?: string | null; data?: unknown; detail?: string }[] = [],
): Shell {
  const { controller } = dash;
  const { config } = controller;
  const { principal } = ctx;
  // The guard keeps API tokens off the pages (they are for people): this never happens.
  if (principal.kind !== 'session') throw new ApiError(403, 'forbidden', 'pages are for people: log in');
  const active = controller.activeAlarms();
  const masked = masksNames(principal);
  const names = actorNames(dash, [principal.actor, ...actors]);
  return {
    lang: ctx.lang,
    t: ctx.t,
    user: principal.user,
    via: principal.kind,
    csrf: principal.session?.csrfToken ?? null,
    actor: principal.actor,
    siteName: config.site.name,
    controllerId: config.controller.id,
    timeZone: config.timeZone,
    tz: dash.tz,
    simulated: dash.simulated,
    doors: config.doors,
    unackedAlarms: active.filter((a) => !a.acknowledged).length,
    alarms: orderAlarms(masked ? active.map(maskAlarm) : active),
    streamLostMs: dash.streamLostMs,
    idle:
      principal.session && !principal.session.idleExempt
        ? { ms: dash.sessions.times.idleMs, warnMs: dash.sessionWarningMs }
        : null,
    actors: names,
    // A wall screen with masked names gets no one's name in a sentence either.
    names: { ...namesFor(dash, masked ? [] : [...active, ...rows], names), masked },
  };
}
