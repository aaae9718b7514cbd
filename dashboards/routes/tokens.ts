/**
 * The API tokens, read-only (POLICY §12 self-inspection): who made which token with which scopes,
 * when it was last used and from where. Tokens are made, rotated and revoked only with
 * `sekisho token` on the device; never a secret or its hash here.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SCOPES } from '../../controller/accounts/roles.js';
import { tokenView } from '../../controller/accounts/tokens.js';
import type { Dash } from '../context.js';
import { addRoute } from '../http.js';

const TokenView = z.object({
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  status: z.enum(['active', 'expired']),
  createdAt: z.number(),
  createdBy: z.string(),
  rotatedAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  lastUsedFrom: z.string().nullable(),
});

export function registerTokenRoutes(app: FastifyInstance, dash: Dash): void {
  addRoute(app, dash.guard, {
    method: 'GET',
    url: '/api/tokens',
    auth: 'users.read',
    kind: 'json',
    tag: 'users',
    summary:
      'API tokens: name, scopes, who made them, last use and expiry (never a secret or its hash); ' +
      'made, rotated and revoked with `sekisho token` on the device',
    response: z.object({ tokens: z.array(TokenView) }),
    handler: () => {
      const now = dash.now();
      return {
        tokens: dash.tokens.list().map((t) => tokenView(t, now)),
      };
    },
  });
}
