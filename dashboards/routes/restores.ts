/**
 * Restores of a backup (`journal_restored`, a declared gap in the journal) and their acknowledgement
 * by a person other than the one who ran `sekisho restore`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RestoreStore } from '../../controller/approvals/restores.js';
import type { Dash } from '../context.js';
import { addRoute } from '../http.js';
import { restoresPage } from '../pages/restores.js';
import { shellOf } from '../views.js';

export function registerRestoreRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard } = dash;
  const restores = new RestoreStore(dash.controller.journal);
  const SeqParam = z.strictObject({ seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

  addRoute(app, guard, {
    method: 'GET',
    url: '/restores',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary: 'Each restore of a backup: the rows it declares lost, who ran it, and its acknowledgement',
    handler: ({ t, lang, principal }) => {
      const list = restores.list();
      const shell = shellOf(
        dash,
        { t, lang, principal },
        list.flatMap((r) => [r.restoredBy, r.acknowledged?.actor]),
      );
      return restoresPage(shell, {
        restores: list.map((restore) => ({
          restore,
          refusal: restore.acknowledged ? null : (restores.refusal(restore, principal.actor)?.reason ?? null),
        })),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/restores',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary:
      'The restores journaled (`journal_restored`), newest first, with the range lost and their acknowledgement',
    handler: () => ({ restores: restores.list() }),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/restores/:seq/acknowledge',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'reports',
    summary:
      'Acknowledge a restore (`seq` = its journal_restored row), with a note. 403 `self_approval_refused` (journaled) for the person who ran the restore',
    params: SeqParam,
    body: z.strictObject({ note: z.string().trim().min(1).max(500) }),
    handler: ({ params, body, principal }) => {
      const restore = restores.acknowledge(params.seq, principal.actor, body.note, dash.now());
      dash.hub.notify();
      return { restore };
    },
  });
}
