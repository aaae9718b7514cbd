/** `GET /metrics` for Prometheus (dashboards/metrics.ts): a session, or an API token with the `metrics` scope. */
import type { FastifyInstance } from 'fastify';
import type { Dash } from '../context.js';
import { addRoute } from '../http.js';
import { METRICS_CONTENT_TYPE, MetricsCollector } from '../metrics.js';

export function registerMetricsRoutes(app: FastifyInstance, dash: Dash): void {
  const metrics = new MetricsCollector(dash.controller);
  app.addHook('onClose', async () => metrics.close());
  addRoute(app, dash.guard, {
    method: 'GET',
    url: '/metrics',
    auth: 'metrics.read',
    kind: 'text',
    tag: 'meta',
    produces: METRICS_CONTENT_TYPE,
    summary:
      'Prometheus metrics (text format 0.0.4): doors, readers, alarms, journal, MQTT, process, and access decisions since start. ' +
      'No names, badges or secrets. A scrape does not keep a session alive.',
    touch: false,
    handler: ({ reply }) => reply.type(METRICS_CONTENT_TYPE).send(metrics.render()),
  });
}
