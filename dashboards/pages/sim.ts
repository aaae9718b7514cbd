/** The simulation panel: present badges, open and close doors, press the exit button. */
import { html, type SafeHtml } from '../html.js';
import { formError, page, reasonLabel, type Shell } from './layout.js';

export interface SimView {
  readers: readonly { id: string }[];
  doors: readonly { id: string; name: string; exitButton: boolean; tamper: boolean }[];
  /** The demo data's badges, offered in the form. */
  badges: readonly { credential: string; person: string; note: string }[];
  /** Every reason a decision can give, for the result's label. */
  reasons: readonly string[];
}

export function simPage(v: Shell, s: SimView): SafeHtml {
  const { t } = v;
  const { readers, doors, badges } = s;
  return page(v, {
    title: t('sim_title'),
    active: 'sim',
    body: html`<h1>${t('sim_title')}</h1>
<p class="notice">${t('sim_hint')}</p>
<section class="card"><h2>${t('present_badge')}</h2>
<form data-api="/api/sim/badge" data-method="POST" data-result="sim-result" class="grid-form" id="sim-badge">
  <label>${t('reader')}<select name="reader">${readers.map((r) => html`<option value="${r.id}">${r.id}</option>`)}</select></label>
  <label>${t('badge_number')}<input name="credential" list="demo-badges" required maxlength="40" value="${badges[0]?.credential ?? ''}"></label>
  <datalist id="demo-badges">${badges.map((b) => html`<option value="${b.credential}">${b.person} — ${b.note}</option>`)}</datalist>
  ${formError}<button type="submit" class="primary">${t('present_badge')}</button>
</form>
<p id="sim-result" class="result" aria-live="polite" data-granted="${t('granted')}" data-denied="${t('denied')}"></p>
<h3>${t('demo_badges')}</h3>
<ul class="plain">${badges.map((b) => html`<li><code>${b.credential}</code> ${b.person} — ${b.note}</li>`)}</ul>
</section>
${doors.map(
  (d) => html`<section class="card" data-door="${d.id}"><h2>${d.name}</h2><p class="actions">
<button type="button" data-api="/api/sim/doors/${d.id}/contact" data-method="POST" data-body='{"open":true}' id="sim-open-${d.id}">${t('open_door')}</button>
<button type="button" data-api="/api/sim/doors/${d.id}/contact" data-method="POST" data-body='{"open":false}' id="sim-close-${d.id}">${t('close_door')}</button>
${d.exitButton ? html`<button type="button" data-api="/api/sim/doors/${d.id}/exit-button" data-method="POST">${t('exit_button')}</button>` : ''}
${
  d.tamper
    ? html`<button type="button" data-api="/api/sim/doors/${d.id}/tamper" data-method="POST" data-body='{"active":true}'>${t('tamper_on')}</button>
<button type="button" data-api="/api/sim/doors/${d.id}/tamper" data-method="POST" data-body='{"active":false}'>${t('tamper_off')}</button>`
    : ''
}
</p></section>`,
)}
<p class="hint"><a href="/">${t('nav_live')} →</a></p>
<template id="reason-labels">${s.reasons.map((r) => html`<span data-reason="${r}">${reasonLabel(t, r)}</span>`)}</template>`,
  });
}
