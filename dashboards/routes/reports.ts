/**
 * Reports (after-hours entries, denials by reason, forced and held doors), the compliance view, and
 * the config changes each start journaled with their acknowledgement by a different person.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { ConfigChangeStore } from '../../controller/approvals/config-changes.js';
import { commissioningOf } from '../commissioning.js';
import type { Dash } from '../context.js';
import { type CsvTable, complianceCsv, reportCsv } from '../csv-reports.js';
import { localTime, localToday } from '../dates.js';
import { addRoute, DayRangeQuery } from '../http.js';
import { commissioningSection } from '../pages/commissioning.js';
import { configChangesPage } from '../pages/config-changes.js';
import { compliancePage, reportsPage } from '../pages/reports.js';
import { buildReport, compliance } from '../reports.js';
import { actorNames, shellOf } from '../views.js';

const RangeQuery = DayRangeQuery;

export function registerReportRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard } = dash;

  const range = (q: z.infer<typeof RangeQuery>) => {
    const today = localToday(dash, dash.now());
    const from = q.from ?? `${today.slice(0, 8)}01`;
    const to = q.to ?? today;
    return {
      fromText: from,
      toText: to,
      from: localTime(dash, from, false),
      to: localTime(dash, to, true),
    };
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/reports',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary: 'After-hours entries, denials by reason, forced and held doors, one person’s history',
    query: RangeQuery,
    handler: async ({ t, lang, principal, query }) => {
      const r = range(query);
      const rep = await buildReport(dash, r.from, r.to);
      const shell = shellOf(
        dash,
        { t, lang, principal },
        rep.doorAlarms.map((x) => x.ackedBy),
      );
      return reportsPage(shell, { fromText: r.fromText, toText: r.toText, report: rep, now: dash.now() });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/reports',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary:
      'After-hours entries, denials by reason, forced and held doors in a date range (default: this month)',
    query: RangeQuery,
    handler: async ({ query }) => {
      const r = range(query);
      return buildReport(dash, r.from, r.to);
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/compliance',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary: 'The compliance view: each clause of the policy and whether Sekisho’s evidence holds',
    handler: async ({ t, lang, principal }) => {
      await dash.index.sync();
      const commissioning = commissioningOf(dash);
      const shell = shellOf(
        dash,
        { t, lang, principal },
        commissioning.map((c) => c.latest?.actor),
      );
      return compliancePage(shell, compliance(dash), [commissioningSection(shell, commissioning)]);
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/compliance',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary: 'The compliance view as data, with each door’s latest commissioning (`commissioning`)',
    handler: async () => {
      await dash.index.sync();
      return { items: compliance(dash), commissioning: commissioningOf(dash) };
    },
  });

  // ---- layout (#18): the reports and the compliance view as CSV (UTF-8 with a BOM, for Excel) ----
  const sendCsv = (reply: FastifyReply, name: string, text: string) =>
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(`\uFEFF${text}`);

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/reports.csv',
    auth: 'log.export',
    kind: 'stream',
    tag: 'reports',
    produces: 'text/csv',
    summary:
      'One table of the reports as CSV (UTF-8 with BOM): `table` = `after-hours` (one row per person: entries and their times), `denials` or `door-alarms`; dates as for /api/reports. Journaled as `log_exported`',
    query: RangeQuery.extend({
      table: z.enum(['after-hours', 'denials', 'door-alarms']).default('after-hours'),
    }),
    handler: async ({ query, t, principal, reply }) => {
      const { table, ...dates } = query;
      const r = range(dates);
      const rep = await buildReport(dash, r.from, r.to);
      const names = actorNames(
        dash,
        rep.doorAlarms.map((x) => x.ackedBy),
      );
      dash.record('log_exported', principal.actor, {
        format: 'csv',
        filter: { report: table, from: r.fromText, to: r.toText },
      });
      const text = reportCsv(t, table as CsvTable, rep, {
        tz: dash.tz,
        doors: dash.controller.config.doors,
        actors: names,
      });
      return sendCsv(reply, `sekisho-${table}-${r.fromText}-${r.toText}.csv`, text);
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/compliance.csv',
    auth: 'reports.read',
    kind: 'stream',
    tag: 'reports',
    produces: 'text/csv',
    summary: 'The compliance view as CSV (UTF-8 with BOM): clause, requirement, status, evidence',
    handler: async ({ t, reply }) => {
      await dash.index.sync();
      return sendCsv(
        reply,
        `sekisho-compliance-${localToday(dash, dash.now())}.csv`,
        complianceCsv(t, compliance(dash)),
      );
    },
  });
  // ---- end layout ----

  const configChanges = new ConfigChangeStore(dash.controller.journal);
  const SeqParam = z.strictObject({ seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

  addRoute(app, guard, {
    method: 'GET',
    url: '/config-changes',
    auth: 'reports.read',
    kind: 'page',
    tag: 'reports',
    summary:
      'Each start’s access-relevant config changes (old → new), who started and declared them, and their acknowledgement',
    handler: ({ t, lang, principal }) => {
      const loads = configChanges.list();
      const shell = shellOf(
        dash,
        { t, lang, principal },
        loads.map((l) => l.acknowledged?.actor),
      );
      return configChangesPage(shell, {
        loads: loads.map((load) => ({
          load,
          refusal: load.acknowledged ? null : (configChanges.refusal(load, principal.actor)?.reason ?? null),
        })),
      });
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/config-changes',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary:
      'The starts whose access-relevant config changed, newest first (`all=true`: every start), with their declarations and acknowledgement',
    query: z.strictObject({ all: z.enum(['true', 'false']).optional() }),
    handler: ({ query }) => ({ loads: configChanges.list({ all: query.all === 'true' }) }),
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/config-changes/:seq/acknowledge',
    auth: 'requests.approve',
    kind: 'json',
    tag: 'reports',
    summary:
      'Acknowledge the config changes a start journaled (`seq` = its config_loaded row), with a note. 403 `self_approval_refused` (journaled) for the person who started the controller with that config or declared the change',
    params: SeqParam,
    body: z.strictObject({ note: z.string().trim().min(1).max(500) }),
    handler: ({ params, body, principal }) => {
      const load = configChanges.acknowledge(params.seq, principal.actor, body.note, dash.now());
      dash.hub.notify();
      return { load };
    },
  });
}
