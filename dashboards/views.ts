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

/** The shell of a page for `principal`; `actors`: the accounts the page will name. */
export function shellOf(
  dash: Dash,
  ctx: { t: Translate; lang: Lang; principal: Principal },
  actors: Iterable<string | null | undefined> = [],
): Shell {
  const { controller } = dash;
  const { config } = controller;
  const { principal } = ctx;
  // The guard keeps API tokens off the pages (they are for people): this never happens.
  if (principal.kind !== 'session') throw new ApiError(403, 'forbidden', 'pages are for people: log in');
  const active = controller.activeAlarms();
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
    alarms: orderAlarms(masksNames(principal) ? active.map(maskAlarm) : active),
    streamLostMs: dash.streamLostMs,
    idle:
      principal.session && !principal.session.idleExempt
        ? { ms: dash.sessions.times.idleMs, warnMs: dash.sessionWarningMs }
        : null,
    actors: actorNames(dash, [principal.actor, ...actors]),
  };
}
