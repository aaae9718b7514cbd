/**
 * The blank paper 入退室管理簿 for outages: printed in advance and kept with the mechanical key.
 * Its columns are what `sekisho record-manual-entry` asks for, so that each line can be transcribed
 * as it stands (controller/cli/manual-entry.ts).
 */
import { html, type SafeHtml } from '../html.js';
import { page, type Shell } from './layout.js';

/** Lines on one printed page. */
export const PAPER_FORM_LINES = 15;

export function paperFormPage(v: Shell): SafeHtml {
  const { t } = v;
  const columns = [
    'paper_line',
    'paper_date_time',
    'paper_in_out',
    'paper_name',
    'paper_id_card',
    'paper_category',
    'paper_escort',
    'paper_key_by',
    'paper_reason',
    'paper_signature',
    'paper_transcribed',
    'paper_checked',
  ];
  const lines = Array.from({ length: PAPER_FORM_LINES }, (_, i) => i + 1);
  return page(v, {
    title: t('paper_form_title'),
    active: 'log',
    wide: true,
    body: html`<article class="print-view paper-form" id="paper-form">
<header class="print-head">
  <h1>${t('paper_form_title')}</h1>
  <p>${v.siteName} · ${v.controllerId}</p>
  <p class="hint">${t('paper_form_lead')}</p>
  <p>${t('paper_page')}: ______ &nbsp; ${t('paper_door')}: ${v.doors.map((d) => html`☐ ${d.name} `)}</p>
  <p>${t('paper_outage_began')}: ____________________ &nbsp; ${t('paper_key_out')}: ____________________ &nbsp; ${t('paper_key_back')}: ____________________</p>
  <p class="no-print"><button type="button" data-print>${t('print_button')}</button></p>
</header>
<table class="grid log paper-lines"><thead><tr>${columns.map((c) => html`<th data-column="${c}">${t(c)}</th>`)}</tr></thead>
<tbody>${lines.map(
      (n) =>
        html`<tr><td>${n}</td><td></td><td>${t('in')} ／ ${t('out')}</td>${columns.slice(3).map(() => html`<td></td>`)}</tr>`,
    )}</tbody></table>
</article>`,
  });
}
