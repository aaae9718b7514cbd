/**
 * The controller's HTTP face. For now: `/healthz`, a token-protected JSON API for status and the
 * log, and — only when the board is simulated — the simulation routes that stand in for the door
 * hardware and readers (docs/simulation.md). The session-based manager dashboard builds on this.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Controller } from '../controller/runtime.js';
import type { SimBoard } from '../hardware/index.js';

export interface ServerOptions {
  controller: Controller;
  /** Bearer token for /api; compared in constant time. */
  apiToken: string;
}

/** Errors carry a stable `code` clients can rely on, and a human `message`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const first = r.error.issues[0]!;
    const where = first.path.length ? first.path.join('.') : 'body';
    throw new ApiError(400, 'invalid_request', `${where}: ${first.message}`);
  }
  return r.data;
}

const DoorParams = z.strictObject({ door: z.string().min(1).max(64) });
const LogQuery = z.strictObject({
  from: z.coerce.number().int().optional(),
  to: z.coerce.number().int().optional(),
  person: z.string().max(64).optional(),
  door: z.string().max(64).optional(),
  type: z.string().max(64).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

declare module 'fastify' {
  interface FastifyInstance {
    sekishoRoutes: { method: string; url: string }[];
  }
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { controller } = opts;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const token = Buffer.from(opts.apiToken);
  // Every route, so tests can prove each one is protected.
  const routes: { method: string; url: string }[] = [];
  app.decorate('sekishoRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) controller.log.error('http handler failed', { error: err.stack ?? String(err) });
    const code =
      status === 500
        ? 'internal_error'
        : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || status === 400
          ? 'invalid_request'
          : (err.code ?? 'bad_request').toLowerCase();
    return reply
      .code(status)
      .send({ error: { code, message: status === 500 ? 'internal error' : err.message } });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: 'no such route' } }),
  );

  const requireToken = async (req: FastifyRequest, _reply: FastifyReply) => {
    const h = req.headers.authorization ?? '';
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '');
    if (given.length !== token.length || !timingSafeEqual(given, token)) {
      throw new ApiError(401, 'unauthorized', 'a valid API token is required');
    }
  };

  app.get('/healthz', async (_req, reply) => {
    const s = controller.status();
    const ok = s.journal.storageOk;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      controllerId: s.controllerId,
      version: s.version,
      board: s.board,
      journal: { headSeq: s.journal.headSeq, storageOk: s.journal.storageOk },
      readersOnline: s.readers.filter((r) => r.online).length,
      readers: s.readers.length,
      clockSynced: s.clockSynced,
    });
  });

  await app.register(async (api) => {
    api.addHook('onRequest', requireToken);

    api.get('/api/status', async () => controller.status());

    api.get('/api/log', async (req) => {
      const q = parse(LogQuery, req.query);
      const rows = controller.journal.query({
        from: q.from,
        to: q.to,
        person: q.person,
        door: q.door,
        types: q.type ? [q.type] : undefined,
        beforeSeq: q.before,
        limit: q.limit,
      });
      return {
        rows: rows.map((r) => ({
          seq: r.seq,
          id: r.id,
          at: r.at,
          type: r.type,
          door: r.door,
          person: r.person,
          actor: r.actor,
          data: r.data,
          hash: r.hash,
        })),
        next: rows.length === q.limit ? rows[rows.length - 1]!.seq : null,
      };
    });

    if (controller.board.kind === 'sim') registerSimRoutes(api, controller, controller.board as SimBoard);
  });

  return app;
}

function registerSimRoutes(api: FastifyInstance, controller: Controller, board: SimBoard): void {
  const door = (req: FastifyRequest) => {
    const { door } = parse(DoorParams, req.params);
    if (!controller.config.doors.some((d) => d.id === door))
      throw new ApiError(404, 'unknown_door', `no door "${door}"`);
    return door;
  };
  const input = (doorId: string, role: 'contact' | 'exitButton' | 'tamper') => {
    const cfg = controller.config.doors.find((d) => d.id === doorId)!;
    if (!cfg[role]) throw new ApiError(409, 'not_configured', `door "${doorId}" has no ${role}`);
    return `${doorId}.${role}`;
  };

  api.post('/api/sim/badge', async (req) => {
    const body = parse(
      z.strictObject({
        reader: z.string().min(1).max(64),
        credential: z.string().regex(/^[0-9A-Za-z:]{1,40}$/, 'expected a credential like 0A1B2C3D4E'),
        format: z.enum(['em4100', 'wiegand26', 'wiegand34', 'line']).default('em4100'),
      }),
      req.body,
    );
    if (!controller.config.readers.some((r) => r.id === body.reader))
      throw new ApiError(404, 'unknown_reader', `no reader "${body.reader}"`);
    const out = controller.simulateBadge(body.reader, body.credential.toUpperCase(), body.format);
    return {
      granted: out.decision.granted,
      reason: out.decision.reason,
      door: out.doorId,
      direction: out.direction,
      seq: out.row?.seq ?? null,
    };
  });

  api.post('/api/sim/doors/:door/contact', async (req) => {
    const d = door(req);
    const body = parse(z.strictObject({ open: z.boolean() }), req.body);
    board.simulate(input(d, 'contact'), body.open);
    return { door: d, open: body.open };
  });

  api.post('/api/sim/doors/:door/exit-button', async (req) => {
    const d = door(req);
    const name = input(d, 'exitButton');
    board.simulate(name, true);
    const cfg = controller.config.doors.find((x) => x.id === d)!;
    setTimeout(() => board.simulate(name, false), (cfg.exitButton?.debounceMs ?? 0) + 200).unref();
    return { door: d, pressed: true };
  });

  api.post('/api/sim/doors/:door/tamper', async (req) => {
    const d = door(req);
    const body = parse(z.strictObject({ active: z.boolean() }), req.body);
    board.simulate(input(d, 'tamper'), body.active);
    return { door: d, active: body.active };
  });

  api.get('/api/sim/outputs', async () => {
    const out: Record<string, boolean> = {};
    for (const d of controller.config.doors) {
      out[`${d.id}.lock`] = board.readOutput(`${d.id}.lock`);
      if (d.buzzer) out[`${d.id}.buzzer`] = board.readOutput(`${d.id}.buzzer`);
    }
    return out;
  });
}
