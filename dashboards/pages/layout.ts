/**
 * The page shell (header, navigation, language switch) and small formatting helpers. Pages are pure
 * functions of a view-model: everything they show comes in through it (the route builds it), so
 * nothing in `pages/` reads the controller, the stores or the request.
 */

import { can, type Permission, type Role } from '../../controller/accounts/roles.js';
import type { ActiveAlarm } from '../../controller/domain/index.js';
import { formatLocal } from '../../controller/time.js';
import { html, type SafeHtml } from '../html.js';
import type { Lang, Translate } from '../i18n.js';
import { alarmSentence, type Names } from '../sentences.js';

/** Display labels of the accounts a page names: `user:tanaka` → `Tanaka (tanaka)`. */
export type ActorNames = ReadonlyMap<string, string>;

export interface DoorLabel {
  id: string;
  name: string;
}

/** What every signed-in page shows around its body, and what the helpers below format with. */
export interface Shell {
  lang: Lang;
  t: Translate;
  user: { id: string; username: string; displayName: string; role: Role; mustChangePassword: boolean };
  /** Signed in with a session (it can log out, change its password), or the API token. */
  via: 'session' | 'token';
  /** The session's CSRF token, for the page's scripts. */
  csrf: string | null;
  /** What journal rows name the viewer as. */
  actor: string;
  siteName: string;
  controllerId: string;
  /** The configured zone, as the footer names it. */
  timeZone: string;
  /** The zone times are shown in. */
  tz: string;
  simulated: boolean;
  doors: readonly DoorLabel[];
  /** Alarms not yet acknowledged, counted in the navigation. */
  unackedAlarms: number;
  /**
   * The active alarms, by severity then newest (dashboards/alarm-order.ts; details left out for a
   * monitor with masked names): the critical-alarm banner shows the unacknowledged critical ones.
   */
  alarms?: readonly ActiveAlarm[];
  /**
   * The session's idle timeout and how long before it the page warns (null: no idle timeout, a
   * monitor's wall screen).
   */
  idle?: { ms: number; warnMs: number } | null;
  /** How long the page waits for its lost live stream before saying it is not updated (ms). */
  streamLostMs?: number;
  actors: ActorNames;
  /** The names the page's sentences resolve (people, cards, readers); absent: doors and accounts only. */
  names?: Names;
}

/** The names for sentences (dashboards/sentences.ts): the shell's, or what the shell alone knows. */
export function namesOf(v: Shell): Names {
  return (
    v.names ?? {
      people: new Map(),
      badges: new Map(),
      doors: v.doors,
      schedules: new Map(),
      actors: v.actors,
      tz: v.tz,
    }
  );
}

/** May the viewer do this? (What the page offers; the routes check it again.) */
export function may(v: Shell, perm: Permission): boolean {
  return can(v.user.role, perm);
}

interface NavItem {
  id: string;
  href: string;
  label: string;
  perm: Permission;
  simOnly?: boolean;
}

const NAV: NavItem[] = [
  { id: 'live', href: '/', label: 'nav_live', perm: 'live.read' },
  { id: 'log', href: '/log', label: 'nav_log', perm: 'log.read' },
  { id: 'alarms', href: '/alarms', label: 'nav_alarms', perm: 'alarms.read' },
  { id: 'people', href: '/people', label: 'nav_people', perm: 'people.read' },
  { id: 'requests', href: '/requests', label: 'nav_requests', perm: 'requests.read' },
  { id: 'visitors', href: '/visitors', label: 'nav_visitors', perm: 'people.read' },
  { id: 'integrity', href: '/integrity', label: 'nav_integrity', perm: 'integrity.read' },
  { id: 'reports', href: '/reports', label: 'nav_reports', perm: 'reports.read' },
  { id: 'compliance', href: '/compliance', label: 'nav_compliance', perm: 'reports.read' },
  { id: 'users', href: '/users', label: 'nav_users', perm: 'users.read' },
  { id: 'sim', href: '/sim', label: 'nav_sim', perm: 'sim.use', simOnly: true },
];

function head(lang: Lang, title: string, csrf: string | null, refreshTo?: string, alarms = false): SafeHtml {
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${csrf ? html`<meta name="csrf-token" content="${csrf}">` : ''}
${refreshTo ? html`<meta http-equiv="refresh" content="0;url=${refreshTo}">` : ''}
<title>${title} — Sekisho</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script src="/static/app.js" type="module"></script>
<script src="/static/layout.js" type="module"></script>
${
  alarms
    ? html`<link rel="stylesheet" href="/static/alarms.css">
<script src="/static/alarms.js" type="module"></script>`
    : ''
}
</head>`;
}

function langSwitch(ctx: { t: Translate; lang: Lang }): SafeHtml {
  const other = ctx.lang === 'ja' ? 'en' : 'ja';
  return html`<button type="button" class="link lang-switch" data-lang-switch="${other}" lang="${other}">${ctx.t('lang_switch')}</button>`;
}

export function page(
  v: Shell,
  opts: {
    title: string;
    active: string;
    body: SafeHtml | SafeHtml[];
    wide?: boolean;
    /** More of the live stream for this page (e.g. the Alarms page's history with its filter). */
    stream?: Record<string, string>;
  },
): SafeHtml {
  const { t, user } = v;
  const unacked = v.unackedAlarms;
  const nav = NAV.filter((n) => can(user.role, n.perm) && (!n.simOnly || v.simulated));
  // Every signed-in page follows the alarms live over one event stream (assets/alarms.js); the
  // Live page's stream also carries its panel.
  // (Not before a required password change: the stream is refused until then.)
  const live = v.via === 'session' && can(user.role, 'live.read') && !user.mustChangePassword;
  const extra = new URLSearchParams(opts.stream ?? {}).toString();
  const stream = `/api/live?alarms=1${opts.active === 'live' ? '&html=1' : ''}${extra ? `&${extra}` : ''}`;
  return html`${head(v.lang, opts.title, v.csrf, undefined, live)}
<body class="${opts.wide ? 'wide' : ''}"${
    live
      ? html` data-stream="${stream}" data-lost-ms="${v.streamLostMs ?? 20_000}" data-title-alarm="${t('title_alarm')}"${
          v.idle ? html` data-idle-ms="${v.idle.ms}" data-warn-ms="${v.idle.warnMs}"` : ''
        }`
      : ''
  }>
<a class="skip-link" href="#main">${t('skip_to_main')}</a>
<header class="top">
  <a class="brand" href="/"><span class="kanji">関所</span> Sekisho</a>
  <span class="site">${v.siteName}</span>
  <div class="me">
    <a href="/account">${t('signed_in_as', { name: user.displayName, role: t(`role_${user.role}`) })}</a>
    ${langSwitch(v)}
    ${live ? html`<button type="button" class="link" id="alarm-sound" aria-pressed="false" data-on="${t('alarm_sound_on')}" data-off="${t('alarm_sound_off')}" data-blocked="${t('alarm_sound_blocked')}"><span aria-hidden="true">♪</span> <span class="sound-label">${t('alarm_sound_off')}</span></button>` : ''}
    ${v.via === 'session' ? html`<button type="button" class="link" data-api="/api/session" data-method="DELETE" data-then="/login" id="logout">${t('logout')}</button>` : ''}
  </div>
</header>
${live ? sessionNotices(t) : ''}
<nav class="main-nav" aria-label="${t('nav_label')}">
  ${nav.map(
    (n) =>
      html`<a href="${n.href}" class="${n.id === opts.active ? 'active' : ''}" data-nav="${n.id}">${t(n.label)}${
        n.id === 'alarms'
          ? html` <span class="count" id="nav-alarm-count" data-label="${t('alarm_count_label')}"${unacked > 0 ? '' : ' hidden'}>${unacked}</span>`
          : ''
      }</a>`,
  )}
</nav>
${live ? html`${alarmBanner(v, v.alarms ?? [])}<div id="alarm-announcer" class="visually-hidden" aria-live="assertive" aria-atomic="true" data-new="${t('alarm_new')}"></div>` : ''}
<main id="main" tabindex="-1">
${opts.body}
</main>
<footer class="foot">${v.controllerId} · ${v.timeZone}</footer>
</body>
</html>`;
}

/**
 * The session's notices, hidden until assets/alarms.js shows one: the warning before the idle
 * timeout (with "stay signed in"), and that the session has ended and the page no longer follows.
 */
function sessionNotices(t: Translate): SafeHtml {
  return html`<div class="session-notice warn" id="session-warning" role="alertdialog" aria-labelledby="session-warning-text" hidden>
  <p id="session-warning-text" data-text="${t('session_warning')}"></p>
  <button type="button" class="primary" id="session-stay">${t('session_stay')}</button>
</div>
<div class="session-notice bad" id="stream-lost" role="alert" hidden>
  <p>${t('stream_lost')}</p>
</div>
<div class="session-notice bad" id="session-ended" role="alert" hidden>
  <p><strong>${t('session_ended')}</strong> ${t('session_ended_hint')}</p>
  <a class="button primary" id="session-login" href="/login">${t('session_login_again')}</a>
</div>`;
}

/** One alarm for the banner and the screen reader: its severity, then its sentence. */
export function alarmHeadline(v: Shell, a: ActiveAlarm): string {
  return `${v.t(`sev_${a.severity}`)}: ${alarmSentence(a, namesOf(v), v.lang)}`;
}

/**
 * The critical-alarm banner of every page: each unacknowledged critical alarm, with a link to the
 * Alarms page. Empty (hidden) when there is none; assets/alarms.js replaces it live.
 */
export function alarmBanner(v: Shell, alarms: readonly ActiveAlarm[]): SafeHtml {
  const { t } = v;
  const critical = alarms.filter((a) => a.severity === 'critical' && !a.acknowledged);
  return html`<section class="alarm-banner" id="alarm-banner" aria-label="${t('alarm_banner_title')}"${critical.length ? '' : ' hidden'}>
${
  critical.length
    ? html`<strong>${t('alarm_banner_title')}</strong>
<ul>${critical.map(
        (a) =>
          html`<li data-alarm="${a.id}">${alarmHeadline(v, a)} <span class="time">${fmtTime(v, a.raisedAt)}</span></li>`,
      )}</ul>
<a href="/alarms" class="button">${t('alarm_banner_open')}</a>`
    : ''
}
</section>`;
}

/** A page for someone not logged in (the login page, "please log in"). */
export function bare(
  ctx: { t: Translate; lang: Lang },
  opts: { title: string; body: SafeHtml; refreshTo?: string; siteName?: string },
): SafeHtml {
  return html`${head(ctx.lang, opts.title, null, opts.refreshTo)}
<body class="bare">
<a class="skip-link" href="#main">${ctx.t('skip_to_main')}</a>
<header class="top">
  <span class="brand"><span class="kanji">関所</span> Sekisho</span>
  <span class="site">${opts.siteName ?? ''}</span>
  <div class="me">${langSwitch(ctx)}</div>
</header>
<main id="main" tabindex="-1">
${opts.body}
</main>
</body>
</html>`;
}

export function fmtTime(v: { tz: string }, at: number | null | undefined): string {
  return at === null || at === undefined ? '—' : formatLocal(at, v.tz);
}

export function fmtDate(v: { tz: string }, at: number | null | undefined): string {
  return at === null || at === undefined ? '—' : formatLocal(at, v.tz).slice(0, 10);
}

/** An actor as people read it: `user:tanaka` → the account's display name (if the page was given it). */
export function actorLabel(v: { actors: ActorNames }, actor: string | null | undefined): string {
  if (!actor) return '—';
  if (actor.startsWith('user:')) return v.actors.get(actor) ?? actor.slice(5);
  return actor;
}

export function reasonLabel(t: Translate, reason: string): string {
  const key = `reason_${reason}`;
  const s = t(key);
  return s === key ? reason : s;
}

export function alarmLabel(t: Translate, type: string): string {
  const key = `alarm_${type}`;
  const s = t(key);
  return s === key ? type : s;
}

export function categoryLabel(t: Translate, category: string | null | undefined): string {
  return category ? t(`cat_${category}`) : '—';
}

export function doorName(v: { doors: readonly DoorLabel[] }, id: string | null): string {
  if (!id) return '—';
  return v.doors.find((d) => d.id === id)?.name ?? id;
}

/** A form's error slot, filled by app.js. */
export const formError = html`<p class="form-error" role="alert" hidden></p>`;

/**
 * One active alarm as the Live and Alarms pages list it: type, severity, door, time, condition,
 * detail, and who acknowledged it or (with `alarms.ack`) the form to acknowledge it.
 */
export function activeAlarmItem(v: Shell, a: ActiveAlarm, opts: { link: boolean }): SafeHtml {
  const { t } = v;
  const label = html`<strong>${alarmLabel(t, a.type)}</strong>`;
  return html`<li class="alarm sev-${a.severity} ${a.acknowledged ? 'acked' : 'unacked'}" data-alarm="${a.id}">
  <div>${opts.link ? html`<a href="/alarms/${a.id}">${label}</a>` : label} <span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span>
  ${doorName(v, a.door)} · ${fmtTime(v, a.raisedAt)} · ${a.conditionCleared ? t('condition_cleared') : t('condition_active')}</div>
  <div class="detail">${alarmSentence(a, namesOf(v), v.lang)}</div>
  ${
    a.acknowledged
      ? html`<div class="ack">${t('acknowledged')}: ${t('ack_by', { by: actorLabel(v, a.acknowledged.by), time: fmtTime(v, a.acknowledged.at) })} — ${a.acknowledged.comment}</div>`
      : may(v, 'alarms.ack')
        ? html`<form class="inline" data-api="/api/alarms/${a.id}/ack" data-method="POST" data-then="reload">
    <input name="comment" required maxlength="500" placeholder="${t('ack_comment_hint')}" aria-label="${t('comment')}">
    <button type="submit">${t('acknowledge')}</button>${formError}</form>`
        : html`<div class="ack">${t('unacknowledged')}</div>`
  }
</li>`;
}
