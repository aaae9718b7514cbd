/**
 * The Live page: each door's lock, contact and mode, who is inside (visitors with their escort), the
 * active alarms and the latest entries. The panel is also sent alone, as HTML, by the event stream.
 */
import type { ActiveAlarm } from '../../controller/domain/index.js';
import { formatMiB, PersonCategory } from '../../controller/domain/index.js';
import { html, type SafeHtml, when } from '../html.js';
import type { Translate } from '../i18n.js';
import { recordSentence } from '../sentences.js';
import {
  activeAlarmItem,
  alarmLabel,
  categoryLabel,
  fmtTime,
  formError,
  may,
  namesOf,
  page,
  type Shell,
} from './layout.js';

export interface EscortOption {
  id: string;
  label: string;
}

/** Someone inside a room. */
export interface OccupantView {
  personId: string;
  /** Null for someone no longer in the registry. */
  person: { name: string; displayId: string } | null;
  category: string | null;
  uncertain: boolean;
  since: number;
  escort: string | null;
  /** The escort's registry entry, if there is one. */
  escortPerson: { name: string; displayId: string } | null;
  /** For a visitor: is their escort inside too. */
  escorted: boolean | null;
}

export interface LiveDoorView {
  id: string;
  name: string;
  locked: boolean;
  contact: string;
  mode: string;
  /** How many the door's room holds. */
  occupancy: number;
  /** `firmware`: a bridge board's version (its latest hello, journaled); null when none was heard. */
  readers: readonly { id: string; online: boolean; reason?: string; firmware?: string | null }[];
  inside: readonly OccupantView[];
  /** The door's commissioning state (dashboards/commissioning.ts); flagged unless `ok`. */
  commissioning?: string;
  /** The door requires commissioning and has none valid: no badge opens it (doors[].requireCommissioning). */
  barred?: boolean;
}

/** One of the latest badge presentations. */
export interface RecentView {
  seq: number;
  at: number;
  door: string | null;
  direction: string;
  result: string;
  reason: string;
  personName: string | null;
  masked: string | null;
  /** The row's person column and data, for its sentence (dashboards/sentences.ts). */
  person?: string | null;
  data?: unknown;
}

export interface LivePanelView {
  doors: readonly LiveDoorView[];
  alarms: readonly ActiveAlarm[];
  recent: readonly RecentView[];
  /** Now, to show today's rows with the time only. */
  now: number;
  journal: { headSeq: number; storageOk: boolean };
  /** The storage's free space (runtime/space.ts); absent: not known to this view. */
  storage?: { freeBytes: number | null; floorBytes: number; low: boolean };
  mqtt: { configured: boolean; connected: boolean; backlog: number };
  /** The clock's sync state and the unsynchronised-clock restriction in force at the doors (or null). */
  clock: { synchronised: boolean | null; restriction: string | null };
  /** The power-fail input (null or absent: not configured). */
  power?: { status: string | null; onBattery: boolean; failing: boolean; monitorOk: boolean | null } | null;
  /** Who may escort visitors (for managers' presence correction; empty for others). */
  escorts: readonly EscortOption[];
}

/** A visitor's escort in the correction form; the current escort stays choosable even if no longer listed. */
function escortSelect(
  t: Translate,
  escorts: readonly EscortOption[],
  current: string | null,
  currentPerson: { name: string; displayId: string } | null,
): SafeHtml {
  let list = escorts;
  if (current !== null && !escorts.some((e) => e.id === current)) {
    const p = currentPerson;
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
function presenceRows(t: Translate, d: LiveDoorView, escorts: readonly EscortOption[]): SafeHtml {
  const rows = d.inside.map((o) => {
    const p = o.person;
    const category = o.category;
    const name = p?.name ?? t('unknown_person');
    return html`<tr data-person="${o.personId}" data-category="${category ?? ''}" class="${o.uncertain ? 'uncertain' : ''}">
  <td><input type="checkbox" name="inside" checked aria-label="${t('presence_inside')}: ${name}"></td>
  <td>${name}${o.uncertain ? html` <span class="tag warn" title="${t('uncertain_hint')}">${t('uncertain')}</span>` : ''}</td>
  <td>${p?.displayId ?? ''}</td>
  <td><span class="tag cat-${category ?? 'unknown'}">${categoryLabel(t, category)}</span></td>
  <td>${category === 'visitor' ? escortSelect(t, escorts, o.escort, o.escortPerson) : ''}</td>
</tr>`;
  });
  return html`<template data-presence-rows="${d.id}">${rows}</template>`;
}

/** The presence correction dialog of the Live page (managers): one for all doors. */
function presenceDialog(t: Translate, escorts: readonly EscortOption[]): SafeHtml {
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
  <template id="presence-escort-select">${escortSelect(t, escorts, null, null)}</template>
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

/**
 * The clock banner: shown while the clock is not known to be synchronised — what the doors do about
 * it (the restriction in force, or that schedules run on a clock that may be wrong) and what to do.
 */
function clockBanner(t: Translate, clock: LivePanelView['clock']): SafeHtml | '' {
  if (clock.synchronised === true) return '';
  const title = clock.synchronised === false ? t('clock_unsynced_title') : t('clock_unknown_title');
  const effect =
    clock.restriction === null
      ? t('clock_unrestricted')
      : t('clock_restricted', { policy: t(`clock_policy_${clock.restriction}`) });
  return html`<p class="notice ${clock.restriction === null ? 'warn' : 'bad'}" id="clock-banner" role="alert" data-restriction="${clock.restriction ?? ''}"><strong>${title}</strong> ${effect} ${t('clock_action')}</p>`;
}

export function livePanel(v: Shell, s: LivePanelView): SafeHtml {
  const { t } = v;
  const doors = s.doors.map((d) => {
    const inside = d.inside.map((o) => {
      const p = o.person;
      const category = o.category;
      const cls = [
        category === 'visitor' ? 'visitor' : '',
        o.escorted === false ? 'unescorted' : '',
        o.uncertain ? 'uncertain' : '',
      ]
        .filter(Boolean)
        .join(' ');
      return html`<tr class="${cls}" data-person="${o.personId}">
  <td>${p?.name ?? t('unknown_person')}${o.uncertain ? html` <span class="tag warn" title="${t('uncertain_hint')}">${t('uncertain')}</span>` : ''}</td><td>${p?.displayId ?? ''}</td>
  <td><span class="tag cat-${category ?? 'unknown'}">${categoryLabel(t, category)}</span></td>
  <td>${o.escort ? html`${o.escortPerson?.name ?? t('unknown_person')}${o.escorted === false ? html` <span class="tag bad">${t('unescorted')}</span>` : ''}` : category === 'visitor' ? html`<span class="tag bad">${t('unescorted')}</span>` : ''}</td>
  <td class="nowrap">${fmtTime(v, o.since)}</td>
</tr>`;
    });
    // Red, and said in words, while an alarm is active on the door (not only by colour).
    const doorAlarms = s.alarms.filter((a) => a.door === d.id);
    return html`<section class="card door${doorAlarms.length ? ' alarm-active' : ''}" data-door="${d.id}">
  ${
    doorAlarms.length
      ? html`<p class="door-alarm" data-field="door-alarm"><strong>${t('door_alarm_active')}</strong> ${doorAlarms.map(
          (a) =>
            html`<span class="door-alarm-item">${alarmLabel(t, a.type)} <span class="tag sev-${a.severity}">${t(`sev_${a.severity}`)}</span></span> `,
        )}</p>`
      : ''
  }
  <h2>${d.name}${d.commissioning && d.commissioning !== 'ok' ? html` <a href="/compliance#commissioning" class="tag ${d.barred ? 'bad' : 'warn'}" data-field="commissioning">${t(`com_state_${d.commissioning}`)}</a>` : ''}</h2>
  ${d.barred ? html`<p class="notice bad" data-field="barred" role="alert">${t('door_barred_uncommissioned')}</p>` : ''}
  <div class="door-state">
    <div class="state ${d.locked ? 'good' : 'warn'}" data-field="lock"><span>${t('lock')}</span><strong>${d.locked ? t('locked') : t('unlocked')}</strong></div>
    <div class="state ${d.contact === 'closed' ? 'good' : d.contact === 'open' ? 'warn' : 'unknown'}" data-field="contact"><span>${t('contact')}</span><strong>${t(`contact_${d.contact}`)}</strong></div>
    <div class="state ${d.mode === 'normal' ? 'good' : 'bad'}" data-field="mode"><span>${t('mode')}</span><strong>${t(`mode_${d.mode}`)}</strong></div>
  </div>
  <p class="readers">${t('readers')}: ${d.readers.map(
    (r) =>
      html`<span class="tag ${r.online ? 'ok' : 'bad'}" data-reader="${r.id}">${r.id} ${r.online ? t('online') : t('offline')}</span>${
        r.firmware
          ? html` <span class="meta" data-field="firmware">${t('reader_firmware_label', { v: r.firmware })}</span>`
          : ''
      } `,
  )}</p>
  ${
    may(v, 'doors.mode')
      ? html`<p class="actions">${
          d.mode === 'normal'
            ? html`<button type="button" class="danger" data-api="/api/doors/${d.id}/mode" data-method="POST" data-body='{"mode":"lockdown"}' data-confirm="${t('confirm_action')}">${t('set_lockdown')}</button>`
            : html`<button type="button" data-api="/api/doors/${d.id}/mode" data-method="POST" data-body='{"mode":"normal"}' data-confirm="${t('confirm_action')}">${t('set_normal')}</button>`
        } <button type="button" id="presence-open-${d.id}" data-presence-open="${d.id}" data-door-name="${d.name}">${t('presence_correct')}</button></p>
  ${presenceRows(t, d, s.escorts)}`
      : ''
  }
  <h3>${t('who_inside')} <span class="count-inline" data-field="occupancy">${d.occupancy}</span></h3>
  ${
    inside.length
      ? html`<table class="grid inside"><thead><tr><th>${t('name')}</th><th>${t('id_card')}</th><th>${t('category')}</th><th>${t('escort')}</th><th>${t('since')}</th></tr></thead><tbody>${inside}</tbody></table>`
      : html`<p class="empty">${t('nobody_inside')}</p>`
  }
</section>`;
  });
  const alarms = s.alarms.map((a) => activeAlarmItem(v, a, { link: false }));
  const today = fmtTime(v, s.now).slice(0, 10);
  /** Today's rows show the time only; older ones the date too. */
  const shortTime = (at: number) => {
    const x = fmtTime(v, at);
    return x.startsWith(today) ? x.slice(11) : x.slice(5, 16);
  };
  const names = namesOf(v);
  // Each entry or exit as a sentence (who, card, door, result and why): words, not columns.
  const events = s.recent.map((r) => {
    const data = r.data ?? {
      direction: r.direction,
      result: r.result,
      reason: r.reason,
      personName: r.personName,
      masked: r.masked,
    };
    const row = { type: 'access', at: r.at, door: r.door, person: r.person ?? null, actor: null, data };
    return html`<li class="${r.result === 'granted' ? 'granted' : 'denied'}" data-seq="${r.seq}"><span class="nowrap">${shortTime(r.at)}</span> <span class="tag ${r.result === 'granted' ? 'ok' : 'bad'}">${t(r.result)}</span> ${recordSentence(row, names, v.lang)}</li>`;
  });
  const { journal, mqtt, storage } = s;
  return html`${clockBanner(t, s.clock)}<div class="live-grid">
<div class="col">${doors}</div>
<div class="col">
<section class="card alarms-card">
  <h2>${t('active_alarms')} <span class="count-inline" data-field="alarm-count">${s.alarms.length}</span></h2>
  ${alarms.length ? html`<ul class="alarms">${alarms}</ul>` : html`<p class="empty">${t('no_active_alarms')}</p>`}
</section>
<section class="card">
  <h2>${t('recent_events')}</h2>
  ${
    events.length
      ? html`<ul class="recent" id="recent-events">${events}</ul>`
      : html`<p class="empty">${t('no_rows')}</p>`
  }
  <p class="meta">${t('journal_head')}: #${journal.headSeq} · <span class="${journal.storageOk ? 'good' : 'bad'}">${journal.storageOk ? t('storage_ok') : t('storage_fault')}</span>${storage ? html` · ${spaceLine(t, storage)}` : ''}
  · MQTT: ${
    mqtt.configured
      ? html`<span class="${mqtt.connected ? 'good' : 'bad'}" id="mqtt-state">${mqtt.connected ? t('mqtt_connected') : t('mqtt_disconnected')}</span>${mqtt.backlog > 0 ? ` (${t('mqtt_backlog', { n: mqtt.backlog })})` : ''}`
      : t('mqtt_not_configured')
  }${s.power ? html` · ${t('power_label')}: ${powerState(t, s.power)}` : ''}</p>
</section>
</div>
</div>`;
}

/** The free space beside the journal's state: red while `storage_low` holds. */
function spaceLine(t: Translate, s: NonNullable<LivePanelView['storage']>): SafeHtml {
  if (s.freeBytes === null)
    return html`<span class="bad" data-field="storage-space">${t('space_unknown')}</span>`;
  const free = formatMiB(s.freeBytes);
  return s.low
    ? html`<span class="bad" data-field="storage-space">${t('space_low', { free, floor: formatMiB(s.floorBytes) })}</span>`
    : html`<span data-field="storage-space">${t('space_free', { free })}</span>`;
}

/** The power input's state in words, with the UPS's flags (e.g. "OB DISCHRG"). */
function powerState(t: Translate, p: NonNullable<LivePanelView['power']>): SafeHtml {
  const flags = p.status ? ` (${p.status})` : '';
  const lost = p.monitorOk === false ? html` · <span class="bad">${t('power_monitor_lost')}</span>` : '';
  if (p.failing) return html`<span class="bad" id="power-state">${t('power_failing')}${flags}</span>${lost}`;
  if (p.onBattery)
    return html`<span class="bad" id="power-state">${t('power_on_battery')}${flags}</span>${lost}`;
  return html`<span class="good" id="power-state">${t('power_on_line')}${flags}</span>${lost}`;
}

export function livePage(v: Shell, panel: LivePanelView): SafeHtml {
  const { t } = v;
  const manager = may(v, 'doors.mode');
  return page(v, {
    title: t('live_title'),
    active: 'live',
    wide: true,
    body: html`<h1>${t('live_title')} <span class="live-indicator" id="live-indicator" data-ok="${t('live_connected')}" data-lost="${t('live_disconnected')}">…</span></h1>
${manager ? html`<p class="notice" id="presence-done" role="status" hidden>${t('presence_done')}</p>` : ''}
<div id="live-panel" data-live="/api/live?html=1">${livePanel(v, panel)}</div>
${manager ? presenceDialog(t, panel.escorts) : ''}`,
  });
}
