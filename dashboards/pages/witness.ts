/**
 * The Integrity page's witness section: upload a witness history and the pinned public key, and
 * see the first row missing or altered since the witness saw it (dashboards/routes/witness.ts).
 * The files are read in the browser and sent as JSON (assets/app.js, `form[data-witness]`).
 */
import { html, type SafeHtml } from '../html.js';
import { WITNESS_UPLOAD_MAX } from '../witness-check.js';
import { formError, may, type Shell } from './layout.js';

export function witnessSection(v: Shell): SafeHtml {
  const { t } = v;
  if (!may(v, 'integrity.verify')) return html``;
  return html`<section class="card" id="witness-check"><h2>${t('witness_title')}</h2>
<p class="hint">${t('witness_hint', { mb: WITNESS_UPLOAD_MAX / 1024 / 1024 })}</p>
<form class="grid-form" id="witness-form" data-witness="/api/integrity/witness" data-max="${WITNESS_UPLOAD_MAX}" data-too-big="${t('witness_too_big', { mb: WITNESS_UPLOAD_MAX / 1024 / 1024 })}">
  <label>${t('witness_history_file')}<input type="file" name="history" accept=".jsonl,.json,.txt,application/x-ndjson" required></label>
  <label>${t('witness_public_key')}<input type="file" name="publicKey" accept=".pem,application/x-pem-file" required></label>
  ${formError}<button type="submit" data-busy="${t('witness_checking')}">${t('witness_check')}</button>
</form>
<p id="witness-result" class="result" role="status" hidden></p>
<pre id="witness-detail" class="small" hidden></pre>
</section>`;
}
