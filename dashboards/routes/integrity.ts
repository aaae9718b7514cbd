/**
 * Integrity (POLICY §8(1)③, §9(4)): the chain head, the last signed checkpoint, "verify now" and
 * the signed evidence export for an auditor.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkProtections, publicKeyFingerprint } from '../../controller/journal/index.js';
import type { Dash } from '../context.js';
import { localTime, localToday } from '../dates.js';
import { ApiError, addRoute, DayRangeQuery } from '../http.js';
import { integrityPage } from '../pages/integrity.js';
import { shellOf } from '../views.js';

const ExportQuery = DayRangeQuery.extend({
  fromSeq: z.coerce.number().int().positive().optional(),
  toSeq: z.coerce.number().int().positive().optional(),
});

export function registerIntegrityRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, integrity, controller } = dash;
  const { journal, secrets, config } = controller;

  const fingerprint = publicKeyFingerprint(secrets.publicKey);
  const state = () => ({
    head: journal.head(),
    checkpoint: integrity.checkpointStatus(),
    lastVerification: integrity.lastVerification(),
    verifying: integrity.running,
    keyId: secrets.keyId,
    fingerprint,
    // Read at every request (a few rows of sqlite_master): a dropped trigger shows at once.
    protections: checkProtections(controller.db),
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
      return integrityPage(shellOf(dash, { t, lang, principal }, [s.lastVerification?.by]), {
        head: s.head,
        checkpoint: s.checkpoint,
        lastVerification: s.lastVerification,
        keyId: s.keyId,
        fingerprint: s.fingerprint,
        protections: s.protections,
        today: localToday(dash, dash.now()),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/integrity',
    auth: 'integrity.read',
    kind: 'json',
    tag: 'integrity',
    summary:
      'Chain head, last signed checkpoint (signature and row checked), last verification, protective triggers, key fingerprint',
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
