/**
 * The config changes page (設定変更): each start whose access-relevant config changed, key by key
 * (old → new), who started it, who declared the change, and its acknowledgement by a different
 * person — with the form to acknowledge for those who may.
 */
import type { AckRefusal, ConfigLoad } from '../../controller/approvals/config-changes.js';
import { html, type SafeHtml } from '../html.js';
import { actorLabel, fmtTime, formError, may, page, type Shell } from './layout.js';

export interface ConfigChangesView {
  loads: readonly { load: ConfigLoad; refusal: AckRefusal | null }[];
}

const show = (v: unknown): string => (v === undefined ? '—' : JSON.stringify(v));

/** A list of plain values: what was added and removed (a holiday, a weekday), beside the whole. */
function listDelta(v: Shell, old: unknown, now: unknown): SafeHtml | '' {
  const scalars = (x: unknown): x is (string | number | boolean)[] =>
    Array.isArray(x) && x.every((e) => e === null || typeof e !== 'object');
  if (!scalars(old) || !scalars(now)) return '';
  const added = now.filter((x) => !old.includes(x));
  const removed = old.filter((x) => !now.includes(x));
  return html`<div class="hint">${added.length ? html`<span class="added">${v.t('cfg_added')}: ${added.join(', ')}</span> ` : ''}${
    removed.length ? html`<span class="removed">${v.t('cfg_removed')}: ${removed.join(', ')}</span>` : ''
  }</div>`;
}

function loadCard(v: Shell, { load: l, refusal }: ConfigChangesView['loads'][number]): SafeHtml {
  const { t } = v;
  const status = l.acknowledged
    ? html`<span class="tag ok">${t('cfg_acknowledged')}</span> ${t('ack_by', { by: actorLabel(v, l.acknowledged.actor), time: fmtTime(v, l.acknowledged.at) })} — ${l.acknowledged.note}`
    : html`<span class="tag warn">${t('attention')}</span>`;
  const form = l.acknowledged
    ? ''
    : refusal
      ? html`<p class="notice" data-refusal="${refusal}">${t(`cfg_refusal_${refusal}`)}</p>`
      : may(v, 'requests.approve')
        ? html`<form class="inline" data-api="/api/config-changes/${l.seq}/acknowledge" data-method="POST" data-then="reload">
    <input name="note" required maxlength="500" placeholder="${t('cfg_note_hint')}" aria-label="${t('comment')}">
    <button type="submit">${t('cfg_acknowledge')}</button>${formError}</form>`
        : '';
  return html`<section class="card" data-config-seq="${l.seq}" data-status="${l.acknowledged ? 'acknowledged' : 'needs-review'}">
<h2>${fmtTime(v, l.at)} · ${l.baseline ? t('cfg_baseline') : t('cfg_since', { seq: l.previousSeq ?? '' })} · #${l.seq}</h2>
<dl class="facts">
<dt>${t('cfg_started_by')}</dt><dd>${l.startedBy ?? t('cfg_unknown')}</dd>
<dt>${t('cfg_file')}</dt><dd><code>${l.file}</code> <span class="hint">SHA-256 ${l.sha256 ?? '—'}${l.modifiedAt ? ` · ${t('cfg_modified')} ${fmtTime(v, l.modifiedAt)}` : ''}</span></dd>
<dt>${t('cfg_declared_by')}</dt><dd>${
    l.declarations.length
      ? l.declarations.map((d) => html`<div>${d.actor ?? '—'} · ${fmtTime(v, d.at)} — ${d.reason}</div>`)
      : t('cfg_undeclared')
  }</dd>
<dt>${t('status')}</dt><dd>${status}</dd>
</dl>
<table class="grid config-changes"><thead><tr><th>${t('cfg_key')}</th><th>${t('cfg_old')}</th><th>${t('cfg_new')}</th></tr></thead>
<tbody>${l.changes.map(
    (c) =>
      html`<tr data-path="${c.path}"><td><code>${c.path}</code></td><td><code>${show(c.old)}</code></td><td><code>${show(c.new)}</code>${listDelta(v, c.old, c.new)}</td></tr>`,
  )}</tbody></table>
${form}
</section>`;
}

export function configChangesPage(v: Shell, view: ConfigChangesView): SafeHtml {
  const { t } = v;
  return page(v, {
    title: t('cfg_title'),
    active: 'compliance',
    wide: true,
    body: html`<h1>${t('cfg_title')}</h1>
<p class="hint">${t('cfg_intro')}</p>
${view.loads.length ? view.loads.map((x) => loadCard(v, x)) : html`<p class="empty card">${t('cfg_none')}</p>`}
<p><a href="/compliance">${t('compliance_title')}</a></p>`,
  });
}
