/**
 * `GET /metrics`: the controller's state for Prometheus (text exposition format 0.0.4).
 *
 * Everything comes from what the controller already exposes — `status()`, its active alarms, the
 * registry's counts — and from counters kept here off the controller's row listener (access
 * decisions, alarms raised, journal rows). Labels carry only ids from the config (controller, site,
 * door, reader) and values from the domain's enums: never a person, a name, a badge or a secret.
 *
 * The row listener only increments a counter in a Map: nothing runs on the door's critical path.
 * The event-loop delay histogram (perf_hooks) is started once with the server and read and reset at
 * each scrape, so its quantiles describe the time since the previous scrape.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import {
  AccessRecord,
  AlarmRaisedRecord,
  AlarmSeverity,
  AlarmType,
  alarmSeverity,
  BadgeStatus,
  DoorMode,
  PersonCategory,
  type RecordRow,
} from '../controller/domain/index.js';
import type { DashboardController } from './service.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter' | 'summary';
type Labels = Readonly<Record<string, string>>;

/** Builds an exposition text: one HELP and one TYPE line per family, then its samples. */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #seen = new Set<string>();

  family(name: string, type: MetricType, help: string, samples: Iterable<[Labels, number]>): this {
    if (type === 'summary') throw new Error(`summary ${name}: use summary()`);
    this.#head(name, type, help);
    for (const [labels, value] of samples)
      this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /**
   * A summary: its quantiles (`quantile` label), then `_sum` and `_count`, which Prometheus expects
   * to only grow (a gauge with a `quantile` label fails `promtool check metrics`).
   */
  summary(name: string, help: string, quantiles: [string, number][], sum: number, count: number): this {
    this.#head(name, 'summary', help);
    for (const [q, v] of quantiles)
      this.#lines.push(`${name}${formatLabels({ quantile: q })} ${formatValue(v)}`);
    this.#lines.push(`${name}_sum ${formatValue(sum)}`, `${name}_count ${formatValue(count)}`);
    return this;
  }

  #head(name: string, type: MetricType, help: string): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
    if (this.#seen.has(name)) throw new Error(`metric ${name} written twice`);
    if (type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    this.#seen.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  /** One sample without labels. */
  single(name: string, type: MetricType, help: string, value: number): this {
    return this.family(name, type, help, [[{}, value]]);
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

export function escapeHelp(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

export function escapeLabelValue(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  for (const [k] of entries)
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith('__')) throw new Error(`bad label name ${k}`);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

const AccessLabels = AccessRecord.pick({ result: true, reason: true, direction: true });
const AlarmLabels = AlarmRaisedRecord.pick({ alarm: true });

const bit = (b: boolean): number => (b ? 1 : 0);
const NS_PER_S = 1e9;
/** The event-loop delay sampling interval; the histogram measures it too, so it is taken off. */
const ELD_RESOLUTION_MS = 10;

/** Counts keyed by a label set, in first-seen order. */
class CounterSet {
  readonly #counts = new Map<string, { labels: Labels; n: number }>();

  inc(labels: Labels): void {
    const key = JSON.stringify(labels);
    const c = this.#counts.get(key);
    if (c) c.n++;
    else this.#counts.set(key, { labels, n: 1 });
  }

  /** Make a series exist with 0, so that rate() sees its first increment. */
  zero(labels: Labels): void {
    const key = JSON.stringify(labels);
    if (!this.#counts.has(key)) this.#counts.set(key, { labels, n: 0 });
  }

  *samples(): Iterable<[Labels, number]> {
    for (const { labels, n } of this.#counts.values()) yield [labels, n];
  }
}

export class MetricsCollector {
  readonly #controller: DashboardController;
  readonly #decisions = new CounterSet();
  readonly #alarmsRaised = new CounterSet();
  #rows = 0;
  readonly #eld: IntervalHistogram;
  /** The summary's `_sum` (seconds) and `_count` (samples), kept across scrapes (they only grow). */
  #eldSum = 0;
  #eldCount = 0;
  #closed = false;

  constructor(controller: DashboardController) {
    this.#controller = controller;
    for (const type of AlarmType.options) this.#alarmsRaised.zero({ type });
    this.#eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    this.#eld.enable();
    controller.onRow((row) => this.#onRow(row));
  }

  /** Cheap: the controller calls it after every committed row. */
  #onRow(row: RecordRow): void {
    if (this.#closed) return;
    this.#rows++;
    if (row.type === 'access') {
      const d = AccessLabels.safeParse(row.data);
      if (d.success)
        this.#decisions.inc({ result: d.data.result, reason: d.data.reason, direction: d.data.direction });
    } else if (row.type === 'alarm_raised') {
      const d = AlarmLabels.safeParse(row.data);
      if (d.success) this.#alarmsRaised.inc({ type: d.data.alarm });
    }
  }

  close(): void {
    this.#closed = true;
    this.#eld.disable();
  }

  /** The exposition text, as of now. */
  render(): string {
    const c = this.#controller;
    const s = c.status();
    const out = new Exposition();

    out.family('sekisho_info', 'gauge', 'The controller: its id, site, version and board (always 1).', [
      [{ controller: s.controllerId, site: s.siteId, version: s.version, board: s.board }, 1],
    ]);
    out.single(
      'sekisho_start_time_seconds',
      'gauge',
      'When the controller started, seconds since the Unix epoch.',
      s.startedAt / 1000,
    );

    // Doors
    const door = (d: { id: string }) => ({ door: d.id });
    out.family(
      'sekisho_door_locked',
      'gauge',
      'Whether the door is locked (1) or unlocked (0).',
      s.doors.map((d) => [door(d), bit(d.locked)]),
    );
    out.family(
      'sekisho_door_open',
      'gauge',
      'Whether the door contact reads open (1) or closed (0); 0 while unknown (see sekisho_door_contact_known).',
      s.doors.map((d) => [door(d), bit(d.contact === 'open')]),
    );
    out.family(
      'sekisho_door_contact_known',
      'gauge',
      'Whether the door contact has been read since start (1) or its state is unknown (0).',
      s.doors.map((d) => [door(d), bit(d.contact !== 'unknown')]),
    );
    out.family(
      'sekisho_door_lock_output',
      'gauge',
      'The logical level of the lock output (1 = active).',
      s.doors.map((d) => [door(d), bit(d.lockOutput)]),
    );
    out.family(
      'sekisho_door_mode',
      'gauge',
      'The door mode: 1 for the current mode, 0 for the others.',
      s.doors.flatMap((d) =>
        DoorMode.options.map((mode): [Labels, number] => [{ ...door(d), mode }, bit(d.mode === mode)]),
      ),
    );
    out.family(
      'sekisho_door_occupants',
      'gauge',
      'How many people are recorded inside the room behind the door.',
      s.doors.map((d) => [door(d), d.occupants.length]),
    );

    // Readers
    out.family(
      'sekisho_reader_online',
      'gauge',
      'Whether the reader is online (1) or offline (0).',
      s.readers.map((r) => [{ reader: r.id }, bit(r.online)]),
    );

    // Alarms
    const active = new Map<string, { labels: Labels; n: number; unacked: number }>();
    const key = (type: string, severity: string) => `${type}\u0000${severity}`;
    for (const type of AlarmType.options) {
      const severity = alarmSeverity(type);
      active.set(key(type, severity), { labels: { type, severity }, n: 0, unacked: 0 });
    }
    for (const a of s.alarms) {
      const k = key(a.type, a.severity);
      const e = active.get(k) ?? { labels: { type: a.type, severity: a.severity }, n: 0, unacked: 0 };
      active.set(k, e);
      e.n++;
      if (!a.acknowledged) e.unacked++;
    }
    out.family(
      'sekisho_alarms_active',
      'gauge',
      'Active (latched) alarms, by type and severity.',
      [...active.values()].map((e) => [e.labels, e.n]),
    );
    out.family(
      'sekisho_alarms_unacknowledged',
      'gauge',
      'Active alarms not yet acknowledged, by type and severity.',
      [...active.values()].map((e) => [e.labels, e.unacked]),
    );
    out.family(
      'sekisho_alarms_active_conditions',
      'gauge',
      'Active alarms whose condition still holds, by severity.',
      AlarmSeverity.options.map((severity) => [
        { severity },
        s.alarms.filter((a) => a.severity === severity && !a.conditionCleared).length,
      ]),
    );
    out.family(
      'sekisho_alarms_raised_total',
      'counter',
      'Alarms raised since the dashboard started, by type.',
      this.#alarmsRaised.samples(),
    );

    // Access decisions
    out.family(
      'sekisho_access_decisions_total',
      'counter',
      'Badges presented since the dashboard started, by result, reason and direction.',
      this.#decisions.samples(),
    );

    // Journal and storage
    out.single('sekisho_journal_head_seq', 'gauge', 'The seq of the last journal row.', s.journal.headSeq);
    out.single(
      'sekisho_journal_storage_ok',
      'gauge',
      'Whether the journal can be written (1) or storage is failing (0).',
      bit(s.journal.storageOk),
    );
    out.single(
      'sekisho_journal_pending_writes',
      'gauge',
      'Records waiting to be written after a storage fault.',
      s.journal.pendingWrites,
    );
    out.single(
      'sekisho_journal_rows_total',
      'counter',
      'Journal rows the controller committed since the dashboard started.',
      this.#rows,
    );
    const space = s.storage;
    out.single(
      'sekisho_storage_free_bytes',
      'gauge',
      "Bytes free for the service on the storage folder's file system (NaN when it cannot be read).",
      space.freeBytes ?? Number.NaN,
    );
    out.single(
      'sekisho_storage_size_bytes',
      'gauge',
      "Size of the storage folder's file system, in bytes (NaN when it cannot be read).",
      space.totalBytes ?? Number.NaN,
    );
    out.single(
      'sekisho_storage_low_space_floor_bytes',
      'gauge',
      'The free space below which storage_low is raised (storage.lowSpaceMiB), in bytes.',
      space.floorBytes,
    );
    out.single(
      'sekisho_storage_low',
      'gauge',
      'Whether the storage_low condition holds (1): free space below the floor, not yet back above it plus the margin, or unreadable.',
      bit(space.low),
    );
    out.single(
      'sekisho_storage_space_readable',
      'gauge',
      'Whether the latest reading of the free space succeeded (1) or failed (0).',
      bit(space.error === null),
    );
    const wal = s.journal.walCheckpoints;
    out.single(
      'sekisho_wal_checkpoints_total',
      'counter',
      'WAL checkpoints that copied pages into the database file since the controller started.',
      wal.count,
    );
    out.single(
      'sekisho_wal_checkpoint_failures_total',
      'counter',
      'WAL checkpoints that failed (an I/O error, a full disk) since the controller started.',
      wal.failures,
    );
    out.single(
      'sekisho_wal_pages',
      'gauge',
      'Pages in the write-ahead log at the latest checkpoint (it grows while another process holds an old snapshot).',
      wal.walPages,
    );
    out.single(
      'sekisho_wal_checkpoint_max_seconds',
      'gauge',
      'The longest WAL checkpoint since the controller started (it runs on the controller thread), in seconds.',
      wal.maxMs / 1000,
    );
    if (s.clockSynced !== null)
      out.single(
        'sekisho_clock_synced',
        'gauge',
        'Whether the system clock is synchronised (1) or not (0).',
        bit(s.clockSynced),
      );
    out.single(
      'sekisho_clock_restricted',
      'gauge',
      'Whether the clock.whenUnsynchronised restriction is in force at every door (1) or not (0).',
      bit(s.clock.restriction !== null),
    );
    out.single(
      'sekisho_clock_steps_total',
      'counter',
      'Steps of the wall clock (clock_adjusted rows) since the controller started.',
      s.clock.steps.count,
    );
    const step = s.clock.steps.last;
    if (step) {
      out.single(
        'sekisho_clock_last_step_seconds',
        'gauge',
        'The size of the latest step of the wall clock since start, in seconds (negative: backwards).',
        step.stepMs / 1000,
      );
      out.single(
        'sekisho_clock_last_step_time_seconds',
        'gauge',
        'When the latest step of the wall clock happened (the new time), seconds since the Unix epoch.',
        step.at / 1000,
      );
    }

    // Power-fail input (only when `power` is configured)
    const power = s.power;
    if (power) {
      out.family(
        'sekisho_power_on_battery',
        'gauge',
        'Whether the UPS runs on battery (1) or on mains (0), by source (gpio or nut).',
        [[{ source: power.source }, bit(power.onBattery)]],
      );
      out.family(
        'sekisho_power_failing',
        'gauge',
        'Whether the controller decided a power failure and is shutting down (1).',
        [[{ source: power.source }, bit(power.failing)]],
      );
      if (power.monitorOk !== null)
        out.single(
          'sekisho_power_monitor_online',
          'gauge',
          "Whether upsd answers with the UPS's status (1) or the link is lost (0).",
          bit(power.monitorOk),
        );
    }

    // Registry (counts only)
    // Counted by SQLite: a scrape must not load a registry of 100,000 people on the door's thread.
    const people = c.registry.countActivePeople();
    out.family(
      'sekisho_people',
      'gauge',
      'Enrolled people that are active, by category.',
      PersonCategory.options.map((category) => [{ category }, people[category] ?? 0]),
    );
    const badges = c.registry.countBadges();
    out.family(
      'sekisho_badges',
      'gauge',
      'Enrolled badges, by status.',
      BadgeStatus.options.map((status) => [{ status }, badges[status] ?? 0]),
    );

    // MQTT
    out.single(
      'sekisho_mqtt_configured',
      'gauge',
      'Whether MQTT publishing is configured (1) or not (0).',
      bit(s.mqtt.configured),
    );
    out.single(
      'sekisho_mqtt_connected',
      'gauge',
      'Whether the MQTT broker is connected (1) or not (0).',
      bit(s.mqtt.connected),
    );
    out.single(
      'sekisho_mqtt_outbox_backlog',
      'gauge',
      'Journal rows waiting in the MQTT outbox.',
      s.mqtt.backlog,
    );

    // Process
    const mem = process.memoryUsage();
    out.single(
      'sekisho_process_uptime_seconds',
      'gauge',
      'How long the process has run, in seconds.',
      process.uptime(),
    );
    out.single('sekisho_process_resident_memory_bytes', 'gauge', 'Resident set size, in bytes.', mem.rss);
    out.single('sekisho_process_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.', mem.heapUsed);
    out.single('sekisho_process_heap_total_bytes', 'gauge', 'V8 heap allocated, in bytes.', mem.heapTotal);
    out.single(
      'sekisho_process_external_memory_bytes',
      'gauge',
      'Memory of C++ objects bound to JavaScript (buffers, SQLite statements), in bytes.',
      mem.external,
    );
    const h = this.#eld;
    const lag = (ns: number) => (h.count > 0 ? Math.max(0, ns / NS_PER_S - ELD_RESOLUTION_MS / 1000) : 0);
    const q = (p: number) => lag(h.percentile(p));
    // The window's samples, each a delay of (mean − resolution) on average.
    if (h.count > 0) {
      this.#eldCount += h.count;
      this.#eldSum += h.count * lag(h.mean);
    }
    out.summary(
      'sekisho_event_loop_delay_seconds',
      'Event-loop delay (perf_hooks, sampled every 10 ms), in seconds: quantiles since the previous scrape; _sum and _count since start.',
      [
        ['0.5', q(50)],
        ['0.99', q(99)],
      ],
      this.#eldSum,
      this.#eldCount,
    );
    out.single(
      'sekisho_event_loop_delay_max_seconds',
      'gauge',
      'The longest event-loop delay since the previous scrape, in seconds.',
      lag(h.max),
    );
    // Node skips the first sample after a reset (≤ 10 ms of the window): a stall in exactly that
    // sample is missed; the next scrape's window is otherwise complete.
    h.reset();
    return out.text();
  }
}
