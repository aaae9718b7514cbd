/**
 * How fast a backlog drains to a real Mosquitto, and what the drain costs the door path.
 *
 *   npx tsx tests/mqtt/bench-drain.ts [rows=100000] [--no-consumer]
 *
 * Fills a fresh journal with `rows` access rows (each with its outbox row), starts the publisher and
 * a QoS 1 consumer, and measures: drain time and rate, the event loop's delay while draining, and the
 * latency of committing one journal row (what the door path does) every 20 ms during the drain,
 * compared with the same while idle.
 */
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MqttSchema } from '../../controller/config/index.js';
import { Journal, type JournalInput, openDatabase } from '../../controller/journal/index.js';
import { silentLogger } from '../../controller/log.js';
import { MqttPublisher } from '../../controller/mqtt/index.js';
import { tempDir } from '../helpers/controller.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Consumer } from './consumer.js';

const rows = Number(process.argv[2] ?? 100_000);
const access = (i: number): JournalInput => ({
  type: 'access',
  at: Date.now(),
  door: 'machine-room',
  data: {
    reader: 'entry',
    direction: 'in',
    result: 'denied',
    reason: 'unknown_badge',
    badge: null,
    masked: `••••${String(i % 10000).padStart(4, '0')}`,
    format: 'em4100',
  },
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function commitLatencies(journal: Journal, whileFn: () => boolean, max = 500): Promise<number[]> {
  const out: number[] = [];
  while (whileFn() && out.length < max) {
    const t = performance.now();
    journal.append(access(0), { outbox: false });
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  return out;
}

const broker = await startMosquitto();
const dir = tempDir('sekisho-bench-mqtt-');
const db = openDatabase(join(dir, 'journal.db'));
const journal = new Journal(db, { controllerId: 'bench' });
let t0 = performance.now();
for (let done = 0; done < rows; done += 10_000)
  journal.appendMany(Array.from({ length: Math.min(10_000, rows - done) }, (_, i) => access(done + i)));
console.log(`filled ${rows} rows (with outbox rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const idle = await commitLatencies(journal, () => true, 50);
// The consumer runs in this process too (its parsing shares the event loop) unless --no-consumer.
const withConsumer = !process.argv.includes('--no-consumer');
const sub = withConsumer
  ? await Consumer.connect(broker.url, ['sekisho/bench/events'], { persistent: 'bench-consumer' })
  : null;
let received = 0;
sub?.client.removeAllListeners('message');
sub?.client.on('message', () => received++);

const publisher = new MqttPublisher({
  config: MqttSchema.parse({ url: broker.url, reconnectS: 1 }),
  controllerId: 'bench',
  siteId: 'bench',
  version: 'bench',
  startedAt: Date.now(),
  journal,
  log: silentLogger,
  now: Date.now,
  doors: () => [],
  activeAlarms: () => [],
  record: () => undefined,
});
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
t0 = performance.now();
publisher.start();
let drained = false;
const probe = commitLatencies(journal, () => !drained, 100_000);
while (journal.outboxCount() > 0) await new Promise((r) => setTimeout(r, 50));
drained = true;
const secs = (performance.now() - t0) / 1000;
loop.disable();
const during = await probe;
while (sub && received < rows) await new Promise((r) => setTimeout(r, 50));
const all = (performance.now() - t0) / 1000;

console.log(
  `drained ${rows} rows in ${secs.toFixed(1)} s: ${Math.round(rows / secs)} rows/s (PUBACKed and removed)`,
);
if (sub) console.log(`consumer had all ${rows} after ${all.toFixed(1)} s`);
console.log(
  `event loop delay while draining: p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
);
console.log(
  `commit of one journal row: idle p50 ${pct(idle, 50).toFixed(2)} ms p99 ${pct(idle, 99).toFixed(2)} ms; ` +
    `while draining p50 ${pct(during, 50).toFixed(2)} ms p99 ${pct(during, 99).toFixed(2)} ms max ${Math.max(...during).toFixed(2)} ms (${during.length} samples)`,
);
await publisher.stop();
await sub?.end();
db.close();
await broker.kill();
