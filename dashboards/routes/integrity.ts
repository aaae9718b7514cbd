/**
 * Integrity (POLICY §8(1)③, §9(4)): the chain head, the last signed checkpoint, "verify now" and
 * the signed evidence export for an auditor.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { can } from '../auth/roles.js';
import type { Dash } from '../context.js';
import { localTime } from '../dates.js';
import { html } from '../html.js';
import { ApiError, addRoute, DayRangeQuery } from '../http.js';
import { actorLabel, fmtTime, formError, page } from '../pages/layout.js';

const ExportQuery = DayRangeQuery.extend({
  fromSeq: z.coerce.number().int().positive().optional(),
  toSeq: z.coerce.number().int().positive().optional(),
});

export function registerIntegrityRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, integrity, controller } = dash;
  const { journal, secrets, config } = controller;

  const state = () => ({
    head: journal.head(),
    checkpoint: integrity.checkpointStatus(),
    lastVerification: integrity.lastVerification(),
    verifying: integrity.running,
    keyId: secrets.keyId,
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/integrity',
    auth: 'integrity.read',
    kind: 'page',
    tag: 'integrity',
    summary: 'Chain status, last checkpoint, verify now, signed export',
    handler: ({ t, lang, principal }) => {
      const s = state();
      const cp = s.checkpoint;
      const v = s.lastVerification;
      const role = principal.user.role;
      const today = fmtTime(dash, dash.now()).slice(0, 10);
      return page(
        { dash, t, lang, principal: principal },
        {
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
<dt>seq</dt><dd>#${cp.checkpoint.seq} · ${fmtTime(dash, cp.checkpoint.at)}</dd>
<dt>${t('status')}</dt><dd><span class="tag ${cp.signatureValid ? 'ok' : 'bad'}">${cp.signatureValid ? t('signature_valid') : t('signature_invalid')}</span>
<span class="tag ${cp.matchesJournal ? 'ok' : 'bad'}">${cp.matchesJournal ? t('intact') : t('not_intact')}</span></dd>
<dt>${t('rows')}</dt><dd>+${cp.rowsSince}</dd>
<dd class="mono small full">${cp.checkpoint.hash}</dd></dl>`
    : html`<p class="empty">${t('none')}</p>`
}</section>
<section class="card"><h2>${t('last_verification')}</h2>
<div id="verification">${
            v
              ? html`<p><span class="tag ${v.result.ok ? 'ok' : 'bad'}" id="verify-result">${v.result.ok ? t('intact') : t('not_intact')}</span>
${fmtTime(dash, v.at)} · ${actorLabel(dash, v.by)} · ${t('rows')}: ${v.result.rows} · #${v.result.headSeq}</p>
${v.result.ok ? '' : html`<p class="notice bad">seq ${v.result.firstBadSeq ?? '?'}: ${v.result.problem ?? ''}</p>`}`
              : html`<p class="empty">${t('never_verified')}</p>`
          }</div>
${
  can(role, 'integrity.verify')
    ? html`<button type="button" class="primary" data-api="/api/integrity/verify" data-method="POST" data-then="reload" data-busy="${t('verifying')}" id="verify-now">${t('verify_now')}</button>`
    : ''
}
</section>
${
  can(role, 'integrity.export')
    ? html`<section class="card"><h2>${t('evidence_export')}</h2>
<form method="GET" action="/api/integrity/export" class="grid-form" id="evidence-form">
  <label>${t('from')}<input type="date" name="from" value="${today.slice(0, 8)}01" required></label>
  <label>${t('to')}<input type="date" name="to" value="${today}" required></label>
  ${formError}<button type="submit">${t('export')}</button>
</form>
<p class="hint">sekisho-evidence/1 · Ed25519 · ${s.keyId}</p></section>`
    : ''
}`,
        },
      );
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/integrity',
    auth: 'integrity.read',
    kind: 'json',
    tag: 'integrity',
    summary: 'Chain head, last signed checkpoint (signature and row checked), last verification',
    handler: () => state(),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/integrity/public-key',
    auth: 'integrity.read',
    kind: 'stream',
    tag: 'integrity',
    produces: 'application/x-pem-file',
    summary: 'The device’s Ed25519 public key (PEM) that checkpoints and exports are signed with',
    handler: ({ reply }) =>
      reply
        .type('application/x-pem-file')
        .send(secrets.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/integrity/verify',
    auth: 'integrity.verify',
    kind: 'json',
    tag: 'integrity',
    summary:
      'Walk the whole hash chain and the signed checkpoints now (in a child process); the outcome is journaled',
    handler: async ({ principal }) => {
      const actor = principal.actor;
      const r = await integrity.verifyNow(actor, dash.now, (data) =>
        dash.record('journal_verified', actor, data),
      );
      return r;
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/integrity/export',
    auth: 'integrity.export',
    kind: 'stream',
    tag: 'integrity',
    produces: 'application/x-ndjson',
    summary:
      'Signed evidence export (sekisho-evidence/1, JSON lines) of the rows in a date range (or seq range), with ' +
      'the checkpoints inside it; the export is journaled',
    query: ExportQuery,
    handler: async ({ query, principal, reply }) => {
      let range: { fromSeq: number; toSeq: number } | null;
      if (query.fromSeq !== undefined || query.toSeq !== undefined) {
        const head = journal.head().seq;
        range = { fromSeq: query.fromSeq ?? 1, toSeq: Math.min(query.toSeq ?? head, head) };
        if (range.fromSeq > range.toSeq) range = null;
      } else {
        if (!query.from || !query.to)
          throw new ApiError(400, 'invalid_request', 'query: give from and to, or fromSeq/toSeq');
        range = integrity.seqRange(localTime(dash, query.from, false), localTime(dash, query.to, true));
      }
      if (!range) throw new ApiError(404, 'not_found', 'no journal rows in that range');
      const actor = principal.actor;
      dash.record('evidence_exported', actor, { ...range });
      const gen = integrity.exportEvidence({
        ...range,
        controller: config.controller.id,
        site: config.site.id,
        exportedAt: dash.now(),
        exportedBy: actor,
        signingKey: secrets.signingKey,
        keyId: secrets.keyId,
      });
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="sekisho-evidence-${config.controller.id}-${range.fromSeq}-${range.toSeq}.jsonl"`,
        )
        .send(Readable.from(gen));
    },
  });
}
