/** The compliance view's commissioning section: each door's latest `sekisho commission`, step by step. */
import type { DoorCommissioning } from '../commissioning.js';
import { html, type SafeHtml } from '../html.js';
import { actorLabel, fmtTime, type Shell } from './layout.js';

export function commissioningSection(v: Shell, doors: readonly DoorCommissioning[]): SafeHtml {
  const { t } = v;
  return html`<section class="card" id="commissioning"><h2>${t('com_title')}</h2>
<p class="hint">${t('com_hint')}</p>
${doors.map((d) => {
  const l = d.latest;
  const tag =
    d.state === 'ok' ? 'ok' : d.state === 'not_commissioned' || d.state === 'not_passed' ? 'bad' : 'warn';
  return html`<div class="commissioning-door" data-door="${d.door}" data-state="${d.state}">
<h3>${d.name} <span class="tag ${tag}">${t(`com_state_${d.state}`)}</span></h3>
${
  l
    ? html`<p>${t('com_when')}: <strong>${fmtTime(v, l.at)}</strong> · ${t('com_by')}: <strong>${actorLabel(v, l.actor)}</strong> · ${t('com_outcome')}: <strong>${t(`com_outcome_${l.outcome}`)}</strong> · ${t('com_board')}: ${l.board} · ${t('com_signature')}: ${l.signatureValid ? t('com_sig_ok') : html`<span class="bad">${t('com_sig_bad')}</span>`} · #${l.seq}</p>
<table class="grid"><thead><tr><th>${t('com_step')}</th><th>${t('com_result')}</th><th>${t('com_note')}</th></tr></thead><tbody>${l.steps.map(
        (s) =>
          html`<tr data-step="${s.id}"><td class="nowrap">${stepLabel(t, s.id)}</td><td><span class="tag ${s.result === 'passed' ? 'ok' : s.result === 'failed' ? 'bad' : 'warn'}">${t(`com_result_${s.result}`)}</span>${s.answeredBy === 'flag' ? html` <small>(${t('com_by_flag')})</small>` : ''}</td><td>${s.reason ?? ''}${s.reason && s.detail ? ' — ' : ''}${s.detail ?? ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="empty">${t('com_state_not_commissioned')}</p>`
}</div>`;
})}</section>`;
}

/** `reader_card:entry` → "カード読取（entry）". */
function stepLabel(t: Shell['t'], id: string): string {
  const [kind, reader] = id.split(':');
  const label = t(`com_step_${kind}`);
  return reader ? `${label} (${reader})` : label;
}
