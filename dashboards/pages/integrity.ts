/** The integrity page: the chain head, the last signed checkpoint, "verify now", the evidence export. */
import { html, type SafeHtml } from '../html.js';
import type { CheckpointStatus, ProtectionCheck, VerificationRecord } from '../integrity.js';
import { actorLabel, fmtTime, formError, may, page, type Shell } from './layout.js';
import { witnessSection } from './witness.js';

/** The warning shown first while a protective trigger is missing or altered: never a green page then. */
function protectionsWarning(v: Shell, p: ProtectionCheck): SafeHtml | string {
  const { t } = v;
  if (p.intact) return '';
  const lines = p.problems.map((x) =>
    t(
      x.problem === 'missing' ? 'prot_missing' : x.problem === 'altered' ? 'prot_altered' : 'prot_unexpected',
      {
        name: x.name,
        table: x.table,
      },
    ),
  );
  if (p.schemaVersion !== p.recordedVersion)
    lines.unshift(t('prot_version_lowered', { recorded: p.recordedVersion, version: p.schemaVersion }));
  return html`<section class="card notice bad" id="protections-warning" role="alert">
<h2>${t('protections_title')}</h2>
<ul>${lines.map((l) => html`<li>${l}</li>`)}</ul>
<p>${t('protections_explain')}</p></section>`;
}

export interface IntegrityView {
  head: { seq: number; hash: string };
  checkpoint: CheckpointStatus;
  lastVerification: VerificationRecord | null;
  /** The id of the key checkpoints and exports are signed with. */
  keyId: string;
  /** Its full fingerprint (`SHA256:` and 64 hex digits in groups of 4), to compare with the pinned copy. */
  fingerprint: string;
  /** The protective triggers as found now. */
  protections: ProtectionCheck;
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
${protectionsWarning(v, s.protections)}
<section class="card"><h2>${t('chain_status')}</h2><dl class="facts">
<dt>${t('head')}</dt><dd id="head-seq">#${s.head.seq}</dd><dd class="mono small full">${s.head.hash}</dd>
<dt>${t('protections')}</dt><dd><span class="tag ${s.protections.intact ? 'ok' : 'bad'}" id="protections">${s.protections.intact ? t('protections_ok') : t('protections_bad')}</span></dd>
<dt>${t('public_key')}</dt><dd class="mono">${s.keyId}</dd>
<dt>${t('key_fingerprint')}</dt><dd class="mono full" id="key-fingerprint">${s.fingerprint}</dd>
<dd class="hint full">${t('key_fingerprint_hint')}</dd>
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
        ? html`<p>${verificationTag(v, last)}
${fmtTime(v, last.at)} · ${actorLabel(v, last.by)} · ${t('rows')}: ${last.result.rows} · #${last.result.headSeq}</p>
${last.result.ok ? '' : html`<p class="notice bad">seq ${last.result.firstBadSeq ?? '?'}: ${last.result.problem ?? ''}</p>`}
${last.result.warnings?.length ? html`<ul class="notice warn" id="verify-warnings">${last.result.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}`
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

function verificationTag(v: Shell, last: VerificationRecord): SafeHtml {
  const { t } = v;
  const r = last.result;
  const [cls, text] = !r.ok
    ? ['bad', t('not_intact')]
    : r.protectionsIntact === false
      ? ['bad', t('chain_ok_protections_missing')]
      : ['ok', t('intact')];
  return html`<span class="tag ${cls}" id="verify-result">${text}</span>`;
}
