/**
 * The Integrity page's witness check (POLICY §8(1)③): a reviewer uploads a witness history and the
 * public key the witness pinned, and gets what `sekisho verify --witness` says — the first row
 * missing or altered since the witness saw it; or a bare checkpoints file (what a subscriber saved of
 * the retained checkpoint topic), and gets what `sekisho verify --checkpoints` says. The check is
 * journaled (`witness_checked`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { journalFile } from '../../controller/storage.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute } from '../http.js';
import type { Translate } from '../i18n.js';
import { childWitnessChecker, WITNESS_UPLOAD_MAX, type WitnessOutcome } from '../witness-check.js';

const WitnessBody = z.strictObject({
  history: z
    .string()
    .min(1, 'choose the history file')
    .max(
      WITNESS_UPLOAD_MAX,
      `at most ${WITNESS_UPLOAD_MAX / 1024 / 1024} MB: check larger histories with sekisho verify --witness`,
    ),
  publicKey: z.string().min(1, 'choose the public key file').max(8192),
});

/** One sentence for the reviewer, in the page's language, naming the first bad row. */
export function witnessMessage(t: Translate, o: WitnessOutcome): string {
  if ('refused' in o) return t('witness_refused');
  if ('checkpoints' in o) {
    const k = o.checkpoints;
    if (k.ok)
      return t('checkpoints_agree', {
        checkpoints: k.file.checkpoints,
        seq: k.file.highestSeq,
        rows: k.journal.rows,
      });
    const seq = k.firstBadSeq ?? '?';
    if (k.kind === 'truncated') return t('checkpoints_truncated', { seq });
    return t('checkpoints_not_intact', { seq });
  }
  const c = o.check;
  if (c.ok)
    return t('witness_agrees', {
      rows: c.journal.rows,
      events: c.compared,
      checkpoints: c.history.checkpoints,
    });
  const seq = c.firstBadSeq ?? '?';
  if (c.kind === 'witnessed_missing') return t('witness_missing', { seq });
  if (c.kind === 'witnessed_altered') return t('witness_altered', { seq });
  return t('witness_not_intact', { seq });
}

export function registerWitnessRoutes(app: FastifyInstance, dash: Dash): void {
  const check = childWitnessChecker(
    journalFile(dash.controller.storageDir),
    dash.controller.config.controller.id,
  );
  let running = false;

  addRoute(app, dash.guard, {
    method: 'POST',
    url: '/api/integrity/witness',
    auth: 'integrity.verify',
    kind: 'json',
    tag: 'integrity',
    summary:
      'Compare the journal with an uploaded witness history (sekisho-witness/1), or a file of checkpoints as ' +
      'published on MQTT (JSON Lines), and the pinned public key; names the first missing or altered row; journaled',
    body: WitnessBody,
    bodyLimit: WITNESS_UPLOAD_MAX + 64 * 1024,
    handler: async ({ body, principal, t }) => {
      if (running)
        throw new ApiError(409, 'busy', 'a witness check is running; try again when it has finished');
      running = true;
      let o: WitnessOutcome;
      try {
        o = await check(body.history, body.publicKey);
      } finally {
        running = false;
      }
      const actor = principal.actor;
      if ('refused' in o) {
        dash.record('witness_checked', actor, {
          ok: false,
          refused: true,
          historyLines: 0,
          lastLineSha256: null,
          compared: 0,
          checkpoints: 0,
          problem: o.refused,
        });
        return { ok: false, refused: true, problem: o.refused, message: witnessMessage(t, o) };
      }
      if ('checkpoints' in o) {
        const k = o.checkpoints;
        dash.record('witness_checked', actor, {
          ok: k.ok,
          refused: false,
          historyLines: k.file.lines,
          lastLineSha256: null,
          compared: 0,
          checkpoints: k.file.checkpoints,
          ...(k.firstBadSeq !== undefined ? { firstBadSeq: k.firstBadSeq } : {}),
          ...(k.kind !== undefined ? { kind: k.kind } : {}),
          ...(k.problem !== undefined ? { problem: k.problem } : {}),
          format: 'checkpoints',
        });
        return {
          ok: k.ok,
          refused: false,
          format: 'checkpoints',
          firstBadSeq: k.firstBadSeq ?? null,
          kind: k.kind ?? null,
          problem: k.problem ?? null,
          line: k.line ?? null,
          compared: 0,
          file: k.file,
          warnings: k.journal.warnings,
          notes: [],
          message: witnessMessage(t, o),
        };
      }
      const c = o.check;
      dash.record('witness_checked', actor, {
        ok: c.ok,
        refused: false,
        historyLines: c.history.lines,
        lastLineSha256: c.history.lastLineSha256,
        compared: c.compared,
        checkpoints: c.history.checkpoints,
        ...(c.firstBadSeq !== undefined ? { firstBadSeq: c.firstBadSeq } : {}),
        ...(c.kind !== undefined ? { kind: c.kind } : {}),
        ...(c.problem !== undefined ? { problem: c.problem } : {}),
        format: 'witness',
      });
      return {
        ok: c.ok,
        refused: false,
        format: 'witness',
        firstBadSeq: c.firstBadSeq ?? null,
        kind: c.kind ?? null,
        problem: c.problem ?? null,
        compared: c.compared,
        history: c.history,
        warnings: c.journal.warnings,
        notes: c.notes,
        message: witnessMessage(t, o),
      };
    },
  });
}
