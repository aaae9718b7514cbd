/**
 * The restores page (バックアップからの復元): each `sekisho restore`, the rows it declares lost, who
 * ran it, and its acknowledgement by a different person — with the form for those who may.
 */
import type { Restore, RestoreAckRefusal } from '../../controller/approvals/restores.js';
import { html, type SafeHtml } from '../html.js';
import { actorLabel, fmtTime, formError, may, page, type Shell } from './layout.js';

export interface RestoresView {
  restores: readonly { restore: Restore; refusal: RestoreAckRefusal | null }[];
}

function lostText(v: Shell, r: Restore): string {
  if (r.lostThrough === null) return v.t('rst_lost_unknown', { from: r.lostFrom });
  if (r.lostThrough < r.lostFrom) return v.t('rst_lost_none');
  return v.t('rst_lost_range', {
    from: r.lostFrom,
    through: r.lostThrough,
    basis: v.t(`rst_basis_${r.basis}`),
  });
}

function restoreCard(v: Shell, { restore: r, refusal }: RestoresView['restores'][number]): SafeHtml {
  const { t } = v;
  const status = r.acknowledged
    ? html`<span class="tag ok">${t('rst_acknowledged')}</span> ${t('ack_by', { by: actorLabel(v, r.acknowledged.actor), time: fmtTime(v, r.acknowledged.at) })} — ${r.acknowledged.note}`
    : html`<span class="tag warn">${t('attention')}</span>`;
  const form = r.acknowledged
    ? ''
    : refusal
      ? html`<p class="notice" data-refusal="${refusal}">${t(`rst_refusal_${refusal}`)}</p>`
      : may(v, 'requests.approve')
        ? html`<form class="inline" data-api="/api/restores/${r.seq}/acknowledge" data-method="POST" data-then="reload">
    <input name="note" required maxlength="500" placeholder="${t('rst_note_hint')}" aria-label="${t('comment')}">
    <button type="submit">${t('rst_acknowledge')}</button>${formError}</form>`
        : '';
  return html`<section class="card" data-restore-seq="${r.seq}" data-status="${r.acknowledged ? 'acknowledged' : 'needs-review'}">
<h2>${fmtTime(v, r.at)} · #${r.seq}</h2>
<dl class="facts">
<dt>${t('rst_by')}</dt><dd>${r.restoredBy ?? '—'}</dd>
<dt>${t('rst_backup')}</dt><dd><code>${r.backup}</code> <span class="hint">${fmtTime(v, r.backupCreatedAt)} · #${r.backupHeadSeq}</span></dd>
<dt>${t('rst_lost')}</dt><dd>${lostText(v, r)}</dd>
<dt>${t('status')}</dt><dd>${status}</dd>
</dl>
${form}
</section>`;
}

export function restoresPage(v: Shell, view: RestoresView): SafeHtml {
  const { t } = v;
  return page(v, {
    title: t('rst_title'),
    active: 'compliance',
    body: html`<h1>${t('rst_title')}</h1>
<p class="hint">${t('rst_intro')}</p>
${view.restores.length ? view.restores.map((x) => restoreCard(v, x)) : html`<p class="empty card">${t('rst_none')}</p>`}
<p><a href="/compliance">${t('compliance_title')}</a></p>`,
  });
}
