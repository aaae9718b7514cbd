/**
 * The entry/exit log (入退室管理簿, POLICY §7(1)②ア): every badge at every reader, granted or
 * denied, with person, ID, category, badge (masked), door, direction, time, reason and escort.
 * Filters by date range, person, badge, door, direction, result, reason and visitors only — each
 * an index range (logindex.ts) — with cursor pagination, a streamed CSV export and a printable
 * monthly view.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Direction, dataFields, visibleText } from '../../controller/domain/index.js';
import { publicKeyFingerprint, QueryLimit } from '../../controller/journal/index.js';
import { parseLocal } from '../../controller/time.js';
import type { Dash } from '../context.js';
import { parseTimeCursor, timeCursor } from '../cursor.js';
import { localTime, localToday } from '../dates.js';
import { addRoute } from '../http.js';
import type { Translate } from '../i18n.js';
import type { AccessFilter } from '../logindex.js';
import { categoryLabel, doorName, fmtTime, reasonLabel } from '../pages/layout.js';
import { logPage, logPrintPage } from '../pages/log.js';
import { paperFormPage } from '../pages/paper-form.js';
import { shellOf } from '../views.js';
import { AccessResult } from '../vocabulary.js';

const DateText = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2})?$/, 'expected YYYY-MM-DD or YYYY-MM-DDTHH:MM');

export const LogFilterQuery = z.strictObject({
  from: DateText.optional(),
  /** Inclusive when a date. */
  to: DateText.optional(),
  person: z.string().trim().max(100).optional(),
  badge: z.string().trim().max(64).optional(),
  door: z.string().max(64).optional(),
  direction: Direction.optional(),
  result: AccessResult.optional(),
  reason: z.string().max(64).optional(),
  visitors: z.enum(['1', '0']).optional(),
  cursor: z
    .string()
    .regex(/^\d+\.\d+$/, 'expected the `next` of the previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type LogFilterQuery = z.infer<typeof LogFilterQuery>;

export const LogRow = z.object({
  seq: z.number(),
  at: z.number(),
  time: z.string(),
  door: z.string().nullable(),
  doorName: z.string(),
  direction: z.string(),
  result: z.string(),
  reason: z.string(),
  personId: z.string().nullable(),
  personName: z.string().nullable(),
  displayId: z.string().nullable(),
  category: z.string().nullable(),
  badgeId: z.string().nullable(),
  masked: z.string().nullable(),
  escort: z.string().nullable(),
  escortName: z.string().nullable(),
  reader: z.string().nullable(),
  /** `paper`: an entry with the mechanical key, transcribed from the paper ledger (`manual_entry_recorded`). */
  source: z.enum(['reader', 'paper']),
  /** A transcribed entry: the paper's page/line, who transcribed it, who approved it, when it was recorded. */
  paper: z
    .object({
      ref: z.string(),
      transcribedBy: z.string(),
      approvedBy: z.string(),
      recordedAt: z.number(),
      /** The recorded outage it fell in, or null (flagged). */
      outage: z.string().nullable(),
    })
    .nullable(),
});
export type LogRow = z.infer<typeof LogRow>;

/** Turns the query into an index filter: dates in the site's zone, people and badges to ids. */
export function toFilter(dash: Dash, q: LogFilterQuery): AccessFilter {
  const f: AccessFilter = { limit: q.limit };
  if (q.from) f.from = localTime(dash, q.from, false);
  if (q.to) f.to = localTime(dash, q.to, true);
  const { registry } = dash.controller;
  if (q.person) {
    // Exactly their id or ID card (any case); else up to 50 people whose name or ID card contains
    // it. SQL lookups of at most 50 rows, never the whole registry.
    const exact = registry.findPeopleById(q.person, 50);
    const found = exact.length ? exact : registry.pagePeople({ text: q.person, limit: 50 }).people;
    f.persons = found.map((p) => p.id);
  }
  if (q.badge) {
    // The badge's id, or the last four characters of its number (pasted `••••3D4E` too).
    f.badges = registry.findTypedBadges(q.badge, 50).map((b) => b.id);
  }
  if (q.door) f.door = q.door;
  if (q.direction) f.direction = q.direction;
  if (q.result) f.result = q.result;
  if (q.reason) f.reason = q.reason;
  if (q.visitors === '1') f.visitorsOnly = true;
  if (q.cursor) {
    const { at, id } = parseTimeCursor(q.cursor);
    f.before = { at, seq: id };
  }
  return f;
}

/** Reads the journal rows of a page of seqs and shapes them for people. */
export function logRows(dash: Dash, seqs: readonly { seq: number }[]): LogRow[] {
  const { registry, journal, config } = dash.controller;
  const rows = seqs.map(({ seq }) => journal.get(seq)).filter((r) => r !== undefined);
  const escortOf = (d: Record<string, unknown>) =>
    typeof d.escort === 'string' ? d.escort : typeof d.escortId === 'string' ? d.escortId : null;
  // The people the page names (and their escorts), in one query.
  const ids = new Set<string>();
  for (const r of rows) {
    if (r.person) ids.add(r.person);
    const escort = escortOf(dataFields(r));
    if (escort) ids.add(escort);
  }
  const people = registry.getPeople(ids);
  const person = (id: string | null) => (id ? people.get(id) : undefined);
  const out: LogRow[] = [];
  for (const r of rows) {
    const d = dataFields(r);
    const p = person(r.person);
    const escort = escortOf(d);
    const paper = r.type === 'manual_entry_recorded';
    const at = paper && typeof d.paperAt === 'number' ? d.paperAt : r.at;
    out.push({
      seq: r.seq,
      at,
      time: fmtTime(dash, at),
      door: r.door,
      doorName: doorName(config, r.door),
      direction: String(d.direction ?? ''),
      result: paper ? 'manual' : String(d.result ?? ''),
      reason: paper ? 'manual_entry' : String(d.reason ?? ''),
      personId: r.person,
      personName: typeof d.personName === 'string' ? d.personName : (p?.name ?? null),
      displayId: p?.displayId ?? null,
      category: typeof d.category === 'string' ? d.category : (p?.category ?? null),
      badgeId: typeof d.badge === 'string' ? d.badge : null,
      masked: typeof d.masked === 'string' ? d.masked : null,
      escort,
      // The escort's name now, else as recorded: never their id on a page.
      escortName: escort
        ? (person(escort)?.name ?? (typeof d.escortName === 'string' ? d.escortName : null))
        : null,
      reader: typeof d.reader === 'string' ? d.reader : null,
      source: paper ? 'paper' : 'reader',
      paper: paper
        ? {
            ref: String(d.paperRef ?? ''),
            transcribedBy: String(d.transcribedBy ?? ''),
            approvedBy: String(d.approvedBy ?? r.actor ?? ''),
            recordedAt: r.at,
            outage:
              d.outage !== null && typeof d.outage === 'object'
                ? String((d.outage as { kind?: unknown }).kind ?? '')
                : null,
          }
        : null,
    });
  }
  return out;
}

async function page1(dash: Dash, q: LogFilterQuery): Promise<{ rows: LogRow[]; next: string | null }> {
  await dash.index.sync();
  const f = toFilter(dash, q);
  const seqs = dash.index.accessSeqs(f);
  const last = seqs.at(-1);
  return {
    rows: logRows(dash, seqs),
    next: seqs.length === f.limit && last ? timeCursor(last.at, last.seq) : null,
  };
}

/** One CSV cell: control characters shown, formulas defused, quoted when needed (also the reports' exports). */
export function csvCell(v: string | number | null): string {
  // A name written before names were checked may hold a bidirectional override: shown, not obeyed.
  let s = v === null ? '' : visibleText(String(v));
  // Formula injection: a cell a spreadsheet would run is prefixed with a quote.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvHeader(t: Translate): string {
  return [
    t('time'),
    'seq',
    t('door'),
    t('direction'),
    t('result'),
    t('reason'),
    t('name'),
    t('id_card'),
    t('category'),
    t('badge'),
    t('escort'),
    t('reader'),
  ]
    .map(csvCell)
    .join(',');
}

function csvLine(t: Translate, r: LogRow): string {
  return [
    r.time,
    r.seq,
    r.doorName,
    r.direction ? t(r.direction) : '',
    r.result ? t(r.result) : '',
    r.paper ? `${reasonLabel(t, r.reason)} (${r.paper.ref})` : reasonLabel(t, r.reason),
    r.personName,
    r.displayId,
    r.category ? categoryLabel(t, r.category) : '',
    r.masked,
    r.escortName,
    r.reader,
  ]
    .map(csvCell)
    .join(',');
}

export function registerLogRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard } = dash;

  addRoute(app, guard, {
    method: 'GET',
    url: '/log',
    auth: 'log.read',
    kind: 'page',
    tag: 'log',
    summary: 'The entry/exit log page',
    query: LogFilterQuery,
    handler: async ({ t, lang, principal, query }) => {
      const { rows, next } = await page1(dash, query);
      return logPage(shellOf(dash, { t, lang, principal }), {
        query,
        rows,
        next,
        today: localToday(dash, dash.now()),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/log',
    auth: 'log.read',
    kind: 'json',
    tag: 'log',
    summary:
      'The entry/exit log, newest first. Dates are in the site’s time zone (`to` inclusive). Page with `cursor` = the previous answer’s `next`.',
    query: LogFilterQuery,
    response: z.object({ rows: z.array(LogRow), next: z.string().nullable() }),
    handler: async ({ query }) => page1(dash, query),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/log.csv',
    auth: 'log.export',
    kind: 'stream',
    tag: 'log',
    produces: 'text/csv',
    summary: 'The filtered log as CSV (UTF-8 with BOM), streamed page by page; the export is journaled',
    query: LogFilterQuery.omit({ cursor: true, limit: true }),
    handler: async ({ query, t, principal, reply }) => {
      await dash.index.sync();
      const base = toFilter(dash, { ...query, limit: 500 });
      dash.record('log_exported', principal.actor, { format: 'csv', filter: { ...query } });
      async function* lines() {
        yield `\uFEFF${csvHeader(t)}\r\n`;
        let before = base.before;
        for (;;) {
          const seqs = dash.index.accessSeqs({ ...base, ...(before ? { before } : {}) });
          if (seqs.length === 0) return;
          yield logRows(dash, seqs)
            .map((r) => `${csvLine(t, r)}\r\n`)
            .join('');
          if (seqs.length < base.limit) return;
          const last = seqs.at(-1)!;
          before = { at: last.at, seq: last.seq };
          await new Promise((r) => setImmediate(r));
        }
      }
      const name = `sekisho-log-${localToday(dash, dash.now())}.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Readable.from(lines()));
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/log/print',
    auth: 'log.read',
    kind: 'page',
    tag: 'log',
    summary:
      'The printable monthly log (oldest first) for one or all doors: numbered sheets, the approval seals of `ledger.seals`, dates Gregorian or in the Japanese era (`dates`, default `ledger.dates`)',
    query: z.strictObject({
      month: z
        .string()
        .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM')
        .refine((v) => {
          const y = Number(v.slice(0, 4));
          return y >= 1970 && y <= 9998;
        }, 'expected a month between 1970-01 and 9998-12'),
      door: z.string().max(64).optional(),
      /** The calendar of the dates; default `ledger.dates`. */
      dates: z.enum(['gregorian', 'japanese']).optional(),
    }),
    handler: async ({ t, lang, principal, query }) => {
      await dash.index.sync();
      const [y, m] = query.month.split('-').map(Number) as [number, number];
      const from = parseLocal(`${query.month}-01`, dash.tz);
      const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
      const to = parseLocal(next, dash.tz);
      const MAX = 10_000;
      const seqs = dash.index.accessSeqs({
        from,
        to,
        ...(query.door ? { door: query.door } : {}),
        limit: MAX,
      });
      const rows = logRows(dash, seqs).reverse();
      const head = dash.controller.journal.head();
      return logPrintPage(shellOf(dash, { t, lang, principal }), {
        month: query.month,
        door: query.door,
        rows,
        truncated: rows.length >= MAX,
        now: dash.now(),
        evidence: {
          headSeq: head.seq,
          headHash: head.hash,
          fingerprint: publicKeyFingerprint(dash.controller.secrets.publicKey),
        },
        ledger: {
          seals: dash.controller.config.ledger.seals,
          dates: query.dates ?? dash.controller.config.ledger.dates,
        },
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/log/paper-form',
    auth: 'log.read',
    kind: 'page',
    tag: 'log',
    summary: 'The blank paper ledger for outages (key and paper), to print and keep with the mechanical key',
    handler: ({ t, lang, principal }) => paperFormPage(shellOf(dash, { t, lang, principal })),
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/journal',
    auth: 'log.export',
    kind: 'json',
    tag: 'log',
    summary:
      'Raw journal rows (any type), newest first, with their hashes. `before` = the last seq of the previous page.',
    query: z.strictObject({
      from: z.coerce.number().int().optional(),
      to: z.coerce.number().int().optional(),
      person: z.string().max(64).optional(),
      door: z.string().max(64).optional(),
      type: z.string().max(64).optional(),
      before: z.coerce.number().int().positive().optional(),
      limit: QueryLimit,
    }),
    handler: ({ query: q }) => {
      const rows = dash.controller.journal.query({
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
    },
  });
}
