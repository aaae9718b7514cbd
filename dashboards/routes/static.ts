/** The stylesheet and the script, read once at start; public (the login page needs them). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Dash } from '../context.js';
import { ApiError, addRoute } from '../http.js';

const TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'layout.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'alarms.js': 'text/javascript; charset=utf-8',
  'alarms.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export function registerStaticRoutes(app: FastifyInstance, dash: Dash): void {
  const dir = join(import.meta.dirname, '..', 'assets');
  const files = new Map<string, { body: Buffer; etag: string }>();
  for (const name of Object.keys(TYPES)) {
    const body = readFileSync(join(dir, name));
    files.set(name, {
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
    });
  }
  addRoute(app, dash.guard, {
    method: 'GET',
    url: '/static/:file',
    auth: 'public',
    kind: 'stream',
    tag: 'assets',
    summary: 'The dashboard’s stylesheet and script (no data)',
    produces: 'text/css, text/javascript',
    params: z.strictObject({ file: z.string().max(40) }),
    handler: ({ params, req, reply }) => {
      const f = files.get(params.file);
      if (!f) throw new ApiError(404, 'not_found', 'no such file');
      reply.header('cache-control', 'no-cache').header('etag', f.etag).type(TYPES[params.file]!);
      if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
      return reply.send(f.body);
    },
  });
}
