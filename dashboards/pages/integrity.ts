/** The integrity page: the chain head, the last signed checkpoint, "verify now", the evidence export. */
import { html, type SafeHtml } from '../html.js';
import type { CheckpointStatus, VerificationRecord } from '../integrity.js';
import { actorLabel, fmtTime, formError, may, page, type Shell } from './layout.js';
import { witnessSection } from './witness.js';

export interface IntegrityView {
  head: { seq: number; hash: string };
  checkpoint: CheckpointStatus;
  lastVerification: VerificationRecord | null;
  /** The id of the key checkpoints and exports are signed with. */
  keyId: string;
  /** `YYYY-MM-DD` in the site's zone: the export form's default range is this month to today. */
  today: string;
}

export function integrityPage(v: Shell, s: IntegrityView): SafeHtml {
  const { t } = v;
  const cp = s.checkpoint;
  const last = s.lastVerification;
  const today = s.today;
  return page(v, {
    title: t('integrity_title'),
    active: 'integrity',
    body: html`<h1>${t('integrity_title')}</h1>
<section class="card"><h2>${t('chain_status')}</h2><dl class="facts">
<dt>${t('head')}</dt><dd id="head-seq">#${s.head.seq}</dd><dd class="mono small full">${s.head.hash}</dd>
<dt>${t('public_key')}</dt><dd class="mono">${s.keyId}</dd>
</dl></section>
<section class="card"><h2>${t('last_checkpoint')}</h2>
${
  cp.checkpoint
    ? html`<dl class="facts" id="checkpoint">
<dt>seq</dt><dd>#${cp.checkpoint.seq} · ${fmtTime(v, cp.checkpoint.at)}</dd>
<dt>${t('status')}</dt><dd><span class="tag ${cp.signatureValid ? 'ok' : 'bad'}">${cp.signatureValid ? t('signature_valid') : t('signature_invalid')}</span>
<span class="tag ${cp.matchesJournal ? 'ok' : 'bad'}">${cp.matchesJournal ? t('intact') : t('not_intact')}</span></dd>
<dt>${t('rows')}</dt><dd>+${cp.rowsSince}</dd>
<dd class="mono small full">${cp.checkpoint.hash}</dd></dl>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('last_verification')}</h2>
<div id="verification">${
      last
        ? html`<p><span class="tag ${last.result.ok ? 'ok' : 'bad'}" id="verify-result">${last.result.ok ? t('intact') : t('not_intact')}</span>
${fmtTime(v, last.at)} · ${actorLabel(v, last.by)} · ${t('rows')}: ${last.result.rows} · #${last.result.headSeq}</p>
${last.result.ok ? '' : html`<p class="notice bad">seq ${last.result.firstBadSeq ?? '?'}: ${last.result.problem ?? ''}</p>`}`
        : html`<p class="empty">${t('never_verified')}</p>`
    }</div>
${
  may(v, 'integrity.verify')
    ? html`<button type="button" class="primary" data-api="/api/integrity/verify" data-method="POST" data-then="reload" data-busy="${t('verifying')}" id="verify-now">${t('verify_now')}</button>`
    : ''
}
</section>
${
  may(v, 'integrity.export')
    ? html`<section class="card"><h2>${t('evidence_export')}</h2>
<form method="GET" action="/api/integrity/export" class="grid-form" id="evidence-form">
  <label>${t('from')}<input type="date" name="from" value="${today.slice(0, 8)}01" required></label>
  <label>${t('to')}<input type="date" name="to" value="${today}" required></label>
  ${formError}<button type="submit">${t('export')}</button>
</form>
<p class="hint">sekisho-evidence/1 · Ed25519 · ${s.keyId}</p></section>`
    : ''
}
${witnessSection(v)}`,
  });
}
