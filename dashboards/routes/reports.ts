/** Reports (after-hours entries, denials by reason, forced and held doors) and the compliance view. */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Dash } from '../context.js';
import { localTime, localToday } from '../dates.js';
import { addRoute, DayRangeQuery } from '../http.js';
import { compliancePage, reportsPage } from '../pages/reports.js';
import { buildReport, compliance } from '../reports.js';
import { shellOf } from '../views.js';

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
      return reportsPage(shell, { fromText: r.fromText, toText: r.toText, report: rep });
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
      return compliancePage(shellOf(dash, { t, lang, principal }), compliance(dash));
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/compliance',
    auth: 'reports.read',
    kind: 'json',
    tag: 'reports',
    summary: 'The compliance view as data',
    handler: async () => {
      await dash.index.sync();
      return { items: compliance(dash) };
    },
  });
}
