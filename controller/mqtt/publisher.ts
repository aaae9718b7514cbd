/**
 * The MQTT publisher: drains the journal's outbox to the broker and keeps the retained state topics
 * (status, doors, active alarms, checkpoint) current. It is output-only but for one read: at its
 * first connection it reads back the checkpoint retained on its own checkpoint topic (before
 * publishing its own), and hands it to the runtime's start check, which accepts only a checkpoint
 * signed with the device key and can only raise an alarm from it. Nothing else a broker delivers
 * reaches the controller.
 *
 * Delivery. Each outbox row (written in the same transaction as its journal row) is published in seq
 * order with QoS 1 — to `…/events`, and alarm rows also to `…/alarms` — and removed from the outbox
 * only after the broker's PUBACK for every message of the row. At most `window` rows are in flight.
 * When the connection drops, whatever was in flight is forgotten (mqtt.js's own resend store is
 * emptied) and the next connection starts again from the oldest row still in the outbox, so the
 * order is kept; a message whose PUBACK was lost is sent again (consumers de-duplicate by `seq`).
 * Removals ride in the next event's own transaction (Writer.commit, `joinCommit`), or after
 * ACK_DELAY_MS without one in a transaction committed without a flush. They are bookkeeping, not
 * evidence: a removal lost to a crash or a power cut leaves the row in the outbox, and it is only sent
 * again.
 *
 * The door path never waits for any of this: the runtime calls `committed()` after its commit,
 * which only counts and schedules work for a later turn of the event loop.
 *
 * One cohesive thing, over 500 lines: delivery and the retained state topics share one connection's
 * life cycle (connect, last will, reconnect, the in-flight window), which is the hard part to get right.
 */
import { connect, type MqttClient } from 'mqtt';
import { type MqttConfig, plainPasswordHost } from '../config/index.js';
import {
  type ActiveAlarm,
  dataFields,
  type KnownRecordType,
  type MqttLinkRecord,
  type RecordDataOf,
} from '../domain/index.js';
import type { Journal, JournalRow } from '../journal/index.js';
import type { Logger } from '../log.js';
import { type BrokerSettings, brokerAddress, brokerSettings } from './broker.js';
import { discoveryMessages } from './discovery.js';
import {
  activeAlarmsPayload,
  alarmPayload,
  checkpointPayload,
  type DoorSnapshot,
  doorStatePayload,
  eventPayload,
  isAlarmRow,
  LAST_WILL,
  minimalEventPayload,
  offlinePayload,
  onlinePayload,
  type PersonLookup,
} from './payloads.js';
import { type MqttTopics, mqttTopics } from './topics.js';

/** Journal record types the publisher writes itself. */
export const MQTT_RECORD_TYPES = [
  'mqtt_connected',
  'mqtt_disconnected',
  'mqtt_backlog_full',
  'mqtt_backlog_resumed',
] as const;

/** Rows queued even when the backlog is full: alarms, and the publisher's own (rare) rows. */
const ALWAYS_QUEUED = new Set<string>(MQTT_RECORD_TYPES);

/** The backlog warning levels (fractions of maxBacklog); a level re-arms 10 points below it. */
export const BACKLOG_WARN_LEVELS = [0.5, 0.8, 1] as const;
/**
 * How long delivered rows may wait for the next event's commit to leave the outbox in (ms); then
 * they are removed in a transaction of their own. At a few events a minute most marks ride along.
 */
const ACK_DELAY_MS = 1000;

/** After the backlog was full, all rows are queued again once it is below this fraction. */
const RESUME_BELOW = 0.9;

export interface PublisherTuning {
  /** Overrides `mqtt.maxBacklog` (tests use small values; the config allows ≥ 1,000,000). */
  maxBacklog?: number;
  /** Outbox rows in flight at once. Default 100. */
  window?: number;
  /** How often the outbox is looked at for rows written by other connections (CLI). Default 1000 ms. */
  pollMs?: number;
  /** How long a clean stop waits for the outbox to drain. Default 2000 ms. */
  stopTimeoutMs?: number;
  /** At most this many connection changes are journaled per `transitionWindowMs`. Default 6 per 10 min. */
  maxTransitions?: number;
  transitionWindowMs?: number;
  /** How long the first connection waits for the retained checkpoint. Default 3000 ms. */
  retainedWaitMs?: number;
}

export interface PublisherDeps {
  config: MqttConfig;
  controllerId: string;
  siteId: string;
  version: string;
  startedAt: number;
  journal: Journal;
  log: Logger;
  now: () => number;
  doors: () => DoorSnapshot[];
  activeAlarms: () => ActiveAlarm[];
  /** Append a journal row (the runtime's write path). */
  record: <T extends KnownRecordType>(type: T, data: RecordDataOf<T>) => void;
  lookupPerson?: PersonLookup;
  tuning?: PublisherTuning;
  /**
   * Called once, at the first connection, with the checkpoint retained on the broker (parsed JSON;
   * null when it is not JSON). Not called when none is retained or it cannot be read.
   */
  publishedHead?: (payload: unknown) => void;
}

/**
 * What the wait at start (`readHeadBeforeStart`) learnt of the checkpoint retained on the broker:
 * its payload (parsed JSON; null when not JSON), that none is retained, or why it could not be read
 * in time (then the check runs later, at the first connection, as `publishedHead`).
 */
export type RetainedHead =
  | { state: 'found'; payload: unknown }
  | { state: 'none' }
  | { state: 'unreachable'; reason: string };

export interface MqttStatus {
  configured: boolean;
  connected: boolean;
  /** Journal rows waiting in the outbox. */
  backlog: number;
  lastError: string | null;
  broker?: string;
  tls?: boolean;
  clientId?: string;
  baseTopic?: string;
  maxBacklog?: number;
  /** backlog / maxBacklog, in percent (one decimal). */
  backlogPercent?: number;
  /** `alarms_only` while the backlog is full. */
  queueing?: 'all' | 'alarms_only';
  /** Rows not queued since start because the backlog was full (they are in the journal). */
  skipped?: number;
  /** Rows delivered since start. */
  published?: number;
  connectedSince?: number | null;
  /** Connection attempts that failed since the last successful one. */
  failedAttempts?: number;
}

export const MQTT_NOT_CONFIGURED: MqttStatus = {
  configured: false,
  connected: false,
  backlog: 0,
  lastError: null,
};

type LinkState = 'connected' | 'disconnected';

export class MqttPublisher {
  readonly topics: MqttTopics;
  readonly maxBacklog: number;
  readonly #d: PublisherDeps;
  readonly #window: number;
  readonly #pollMs: number;
  readonly #stopTimeoutMs: number;
  readonly #retainedWaitMs: number;
  /** The read-back of the retained checkpoint: our own is published only once it is done. */
  #headCheck: 'pending' | 'running' | 'done';
  /**
   * Connected before the controller's first row (`readHeadBeforeStart`): only the retained head is
   * read; everything else the connection does (rows, state, the outbox) waits for `release()`.
   */
  #early: { resolve: (head: RetainedHead) => void } | null = null;
  #holding = false;
  /** `<generation>:<seq>` of the checkpoint last published (retained) on this connection. */
  #checkpointPublished = '';
  readonly #held: (() => void)[] = [];
  readonly #maxTransitions: number;
  readonly #transitionWindowMs: number;
  readonly #broker: string;
  readonly #tls: boolean;
  readonly #clientId: string;
  #settings: BrokerSettings | null = null;
  #client: MqttClient | null = null;
  #connected = false;
  #connectedSince: number | null = null;
  #failedAttempts = 0;
  /** Bumped on every connect and close: PUBACKs of an older connection no longer count. */
  #generation = 0;
  /** The highest outbox seq handed to the client on this connection. */
  #cursor = 0;
  /** seq → messages of the row still waiting for their PUBACK. */
  readonly #inflight = new Map<number, number>();
  /** Delivered rows not yet removed from the outbox. */
  #acked: number[] = [];
  readonly #ackedSet = new Set<number>();
  #ackTimer: NodeJS.Timeout | null = null;
  #drainScheduled = false;
  #stateScheduled = false;
  /** topic → last published payload without its time, to publish state only when it changed. */
  readonly #lastState = new Map<string, string>();
  /**
   * Outbox rows, whoever wrote them: the controller's are counted as they commit; the CLI's and the
   * account store's (other connections) by `#countNew()`, a range count on the outbox's primary key
   * after `#mark`, on the poll timer and when the status is read. The door's commit path never counts.
   */
  #backlog = 0;
  /** The highest outbox seq counted into `#backlog`. */
  #mark = 0;
  /** The controller's own rows above `#mark`, already in `#backlog` (so `#countNew()` skips them). */
  readonly #ownAbove = new Set<number>();
  #full = false;
  #skipped = 0;
  #skippedSinceFull = 0;
  #firstSkipped: number | null = null;
  #lastSkipped: number | null = null;
  readonly #warned = new Set<number>();
  #published = 0;
  #lastError: string | null = null;
  #lastLogged = { message: '', at: 0 };
  #started = false;
  #stopping = false;
  readonly #timers: NodeJS.Timeout[] = [];
  // Journaled connection changes (rate-limited).
  #actual: LinkState | null = null;
  #actualReason = '';
  #recorded: LinkState | null = null;
  #transitions: number[] = [];
  #suppressed = 0;
  #transitionTimer: NodeJS.Timeout | null = null;

  constructor(deps: PublisherDeps) {
    this.#d = deps;
    const t = deps.tuning ?? {};
    this.maxBacklog = t.maxBacklog ?? deps.config.maxBacklog;
    this.#window = t.window ?? 100;
    this.#pollMs = t.pollMs ?? 1000;
    this.#stopTimeoutMs = t.stopTimeoutMs ?? 2000;
    this.#retainedWaitMs = t.retainedWaitMs ?? 3000;
    this.#headCheck = deps.publishedHead ? 'pending' : 'done';
    this.#maxTransitions = t.maxTransitions ?? 6;
    this.#transitionWindowMs = t.transitionWindowMs ?? 600_000;
    const addr = brokerAddress(deps.config.url);
    this.#broker = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
    this.#tls = addr.tls;
    this.#clientId = deps.config.clientId ?? `sekisho-${deps.controllerId}`;
    this.topics = mqttTopics(deps.config.baseTopic ?? `sekisho/${deps.controllerId}`);
    this.#recount();
    this.#checkLevel();
  }

  /** Connects (in the background: an unreachable broker only shows in status()). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    // Counts rows others wrote even while the broker settings are unusable; drains when connected.
    this.#every(this.#pollMs, () => {
      this.#countNew();
      this.#scheduleDrain();
    });
    try {
      this.#settings = brokerSettings(this.#d.config, this.#d.controllerId, {
        topic: this.topics.status,
        payload: LAST_WILL,
      });
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#d.log.error(
        'mqtt disabled: the broker settings cannot be used; alarms stay queued in the outbox',
        {
          error: this.#lastError,
        },
      );
      this.#transition('disconnected', this.#lastError);
      return;
    }
    const exposedTo = plainPasswordHost(this.#d.config);
    if (exposedTo !== null)
      this.#d.log.warn(
        'mqtt password sent in clear text (mqtt.allowPlainPassword): anyone on the network path to the broker can read it; use mqtts://',
        { broker: this.#settings.broker },
      );
    const client = connect(this.#settings.url, this.#settings.options);
    this.#client = client;
    client.on('connect', () => this.#guard(() => this.#onConnect()));
    client.on('close', () => this.#guard(() => this.#onClose()));
    client.on('error', (err) => this.#guard(() => this.#onError(err)));
    this.#every(this.#d.config.heartbeatS * 1000, () => this.#heartbeat());
    this.#d.log.info('mqtt connecting', { broker: this.#broker, clientId: this.#clientId });
  }

  /**
   * Connects before the controller writes anything and waits at most `waitMs` for the checkpoint
   * retained on the broker (the start check, docs/journal.md). Until `release()` the publisher
   * writes no row, publishes nothing of its own and drains nothing. A head not read in time is read
   * at the first connection after `release()`, as before (`publishedHead`).
   */
  readHeadBeforeStart(waitMs: number): Promise<RetainedHead> {
    this.#holding = true;
    return new Promise<RetainedHead>((resolve) => {
      const timer = setTimeout(() => {
        this.#early = null;
        const reason =
          this.#lastError ?? (this.#connected ? 'no answer to the subscription' : 'not connected');
        resolve({ state: 'unreachable', reason: `${reason} (within ${waitMs} ms)` });
      }, waitMs);
      this.#early = {
        resolve: (head) => {
          clearTimeout(timer);
          this.#early = null;
          resolve(head);
        },
      };
      this.start();
      // The settings could not be used: nothing will connect.
      if (!this.#client && this.#early)
        this.#early.resolve({ state: 'unreachable', reason: this.#lastError ?? 'not started' });
    });
  }

  /** The controller's first rows are written: the connection goes about its usual work. */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#early = null;
    for (const fn of this.#held.splice(0)) this.#later(fn);
    if (this.#connected && !this.#stopping) this.#guard(() => this.#connectedWork());
  }

  // -----------------------------------------------------------------------------------------------
  // Called by the runtime

  /**
   * Whether a row of this type gets an outbox row. Alarm rows always do; other rows only while the
   * backlog is below maxBacklog (then again once it is below 90 % of it). `uncommitted`: rows of the
   * caller's open transaction already given an outbox row, which the backlog counts only once
   * committed — so that one transaction of several rows cannot take the outbox past the cap.
   */
  accepts(type: string, uncommitted = 0): boolean {
    if (isAlarmRow(type) || ALWAYS_QUEUED.has(type)) return true;
    if (this.#full) {
      this.#maybeResume();
      if (this.#full) return false;
    }
    if (this.#backlog + uncommitted >= this.maxBacklog) {
      this.#full = true;
      this.#skippedSinceFull = 0;
      this.#firstSkipped = null;
      this.#lastSkipped = null;
      this.#d.log.error(
        'mqtt backlog full: only alarm rows are queued for MQTT until it drains (the journal keeps everything)',
        { backlog: this.#backlog, maxBacklog: this.maxBacklog },
      );
      this.#later(() =>
        this.#d.record('mqtt_backlog_full', { backlog: this.#backlog, maxBacklog: this.maxBacklog }),
      );
      return false;
    }
    return true;
  }

  /** A journal row was committed; `queued`: with an outbox row. Cheap; never throws. */
  committed(row: JournalRow, queued: boolean): void {
    if (queued) {
      // Already counted when a count ran between its commit and this call.
      if (row.seq > this.#mark) {
        this.#ownAbove.add(row.seq);
        this.#backlog++;
      }
      this.#checkLevel();
      this.#scheduleDrain();
    } else if (this.#full) {
      this.#skipped++;
      this.#skippedSinceFull++;
      this.#firstSkipped ??= row.seq;
      this.#lastSkipped = row.seq;
    }
    this.#scheduleState();
  }

  /** A new checkpoint was signed. */
  checkpointed(): void {
    if (this.#connected && this.#headCheck === 'done' && !this.#holding)
      this.#guard(() => this.#publishCheckpoint());
  }

  status(): MqttStatus {
    try {
      this.#countNew();
    } catch {
      // A read that fails (storage fault) shows the last count; the fault shows elsewhere.
    }
    return {
      configured: true,
      connected: this.#connected,
      backlog: this.#backlog,
      lastError: this.#lastError,
      broker: this.#broker,
      tls: this.#tls,
      clientId: this.#clientId,
      baseTopic: this.topics.base,
      maxBacklog: this.maxBacklog,
      backlogPercent: Math.round((this.#backlog / this.maxBacklog) * 1000) / 10,
      queueing: this.#full ? 'alarms_only' : 'all',
      skipped: this.#skipped,
      published: this.#published,
      connectedSince: this.#connectedSince,
      failedAttempts: this.#failedAttempts,
    };
  }

  /**
   * Stops: waits (at most stopTimeoutMs) for the outbox to drain, publishes the retained
   * `{"state":"offline","reason":"stopped"}` and disconnects cleanly (so the broker does not send
   * the last will). What was not delivered stays in the outbox for the next start.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#transitionTimer) clearTimeout(this.#transitionTimer);
    const client = this.#client;
    if (client && this.#connected) {
      const deadline = Date.now() + this.#stopTimeoutMs;
      try {
        this.#publishCheckpoint();
        this.#scheduleDrain();
        while (this.#connected && Date.now() < deadline && !this.#drained()) await sleep(20);
        await this.#publishAwait(
          this.topics.status,
          JSON.stringify(offlinePayload('stopped', this.#d.now())),
          Math.max(200, deadline - Date.now()),
        );
      } catch (err) {
        this.#d.log.warn('mqtt stop: could not finish publishing', { error: String(err) });
      }
    }
    this.#flushAcks();
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    if (client) {
      const clean = this.#connected;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          client.end(true, {}, () => undefined);
          resolve();
        }, 1000);
        client.end(!clean, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#connected = false;
  }

  // -----------------------------------------------------------------------------------------------
  // Connection

  #onConnect(): void {
    if (this.#stopping && !this.#connected) return; // a connection completing while stopping
    this.#connected = true;
    this.#connectedSince = this.#d.now();
    this.#failedAttempts = 0;
    this.#generation++;
    this.#cursor = 0;
    this.#inflight.clear();
    this.#lastState.clear();
    this.#lastError = null;
    this.#countNew();
    this.#d.log.info('mqtt connected', { broker: this.#broker, backlog: this.#backlog });
    if (this.#holding) {
      // Before the first row: only the head is read (our own checkpoint would overwrite it).
      if (this.#early && this.#headCheck === 'pending') this.#readRetainedHead();
      return;
    }
    this.#connectedWork();
  }

  /** What a connection does once the controller runs: announce, read the head if still due, drain. */
  #connectedWork(): void {
    this.#transition('connected', '');
    this.#publishOnline();
    if (this.#headCheck === 'pending') this.#readRetainedHead();
    else if (this.#headCheck === 'done') this.#publishCheckpoint();
    this.#publishDiscovery();
    this.#publishState(true);
    this.#scheduleDrain();
  }

  #onClose(): void {
    const was = this.#connected;
    if (!was) this.#failedAttempts++;
    this.#connected = false;
    this.#connectedSince = null;
    this.#generation++;
    this.#inflight.clear();
    // Forget what mqtt.js would re-send by itself: the outbox is the queue, re-sent in order.
    const client = this.#client;
    if (client) for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    if (this.#stopping) return;
    if (was) {
      this.#lastError ??= 'connection lost';
      this.#d.log.warn('mqtt connection lost; rows stay queued in the outbox', { broker: this.#broker });
    }
    this.#transition('disconnected', this.#lastError ?? 'connection failed');
  }

  #onError(err: Error & { code?: string | number }): void {
    const code = typeof err.code === 'string' && !err.message.includes(err.code) ? ` (${err.code})` : '';
    this.#lastError = `${err.message}${code}`;
    const now = Date.now();
    if (this.#lastError !== this.#lastLogged.message || now - this.#lastLogged.at > 600_000) {
      this.#lastLogged = { message: this.#lastError, at: now };
      this.#d.log.warn('mqtt broker error', { broker: this.#broker, error: this.#lastError });
    }
  }

  /** Journal a connection change: transitions only, at most maxTransitions per window. */
  #transition(state: LinkState, reason: string): void {
    const previous = this.#actual;
    this.#actual = state;
    this.#actualReason = reason;
    if (this.#recorded === state || this.#stopping) return;
    const now = this.#d.now();
    this.#transitions = this.#transitions.filter((t) => now - t < this.#transitionWindowMs);
    if (this.#transitions.length >= this.#maxTransitions) {
      // A change of state; the same state reported again (an error, then the close) is not one.
      if (previous !== state) this.#suppressed++;
      if (!this.#transitionTimer) {
        const wait = this.#transitions[0]! + this.#transitionWindowMs - now;
        this.#transitionTimer = setTimeout(() => {
          this.#transitionTimer = null;
          if (this.#actual) this.#transition(this.#actual, this.#actualReason);
        }, wait);
        this.#transitionTimer.unref();
      }
      return;
    }
    this.#transitions.push(now);
    this.#recorded = state;
    const data: MqttLinkRecord = { broker: this.#broker, tls: this.#tls, backlog: this.#backlog };
    if (state === 'disconnected') data.reason = reason;
    if (this.#suppressed > 0) data.unrecordedChanges = this.#suppressed;
    this.#suppressed = 0;
    this.#later(() => this.#d.record(state === 'connected' ? 'mqtt_connected' : 'mqtt_disconnected', data));
  }

  // -----------------------------------------------------------------------------------------------
  // The outbox

  #scheduleDrain(): void {
    if (this.#drainScheduled || !this.#connected || this.#holding) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#guard(() => this.#drain());
    });
  }

  #drain(): void {
    const client = this.#client;
    if (!this.#connected || !client) return;
    const room = this.#window - this.#inflight.size;
    if (room <= 0) return;
    const rows = this.#d.journal.outboxPeek(this.#cursor, room);
    let skipped = 0;
    const batch: { seq: number; messages: [string, string][] }[] = [];
    for (const row of rows) {
      this.#cursor = row.seq;
      if (this.#ackedSet.has(row.seq)) skipped++;
      else batch.push({ seq: row.seq, messages: this.#messages(row) });
    }
    // Every alarm message of the batch goes out first, then the events in seq order: an alarm's
    // PUBACK must not wait behind any earlier message (Nagle + delayed ACK on a stock broker cost
    // ~40 ms when an event led — docs/benchmarks.md). One event's rows share a commit and so a
    // batch: a forced door's `door_opened` comes before its `alarm_raised`.
    const generation = this.#generation;
    for (const b of batch) this.#inflight.set(b.seq, b.messages.length);
    for (const alarms of [true, false])
      for (const b of batch)
        for (const [topic, payload] of b.messages)
          if ((topic === this.topics.alarms) === alarms)
            client.publish(topic, payload, { qos: 1 }, (err) => {
              if (err || generation !== this.#generation) return; // re-sent from the outbox after reconnecting
              this.#guard(() => this.#delivered(b.seq));
            });
    if (rows.length === room && skipped > 0) this.#scheduleDrain();
  }

  /** The messages of one outbox row: its alarm message (if an alarm row), then its event. */
  #messages(row: JournalRow): [string, string][] {
    const messages: [string, string][] = [];
    try {
      if (isAlarmRow(row.type)) {
        const raise =
          row.type === 'alarm_raised' ? row : this.#d.journal.get(Number(dataFields(row).alarmId));
        const alarm = alarmPayload(row, raise);
        if (alarm) messages.push([this.topics.alarms, JSON.stringify(alarm)]);
        else this.#d.log.error('alarm row names no alarm; published as an event only', { seq: row.seq });
      }
      messages.push([this.topics.events, JSON.stringify(eventPayload(row, this.#lookup))]);
    } catch (err) {
      // Never let one row block the queue: publish what is certain about it.
      this.#d.log.error('could not build the payload of a row; publishing a minimal one', {
        seq: row.seq,
        error: String(err),
      });
      messages.length = 0;
      messages.push([this.topics.events, JSON.stringify(minimalEventPayload(row))]);
    }
    return messages;
  }

  #delivered(seq: number): void {
    const left = (this.#inflight.get(seq) ?? 0) - 1;
    if (left > 0) {
      this.#inflight.set(seq, left);
      return;
    }
    if (!this.#inflight.delete(seq)) return;
    this.#published++;
    this.#acked.push(seq);
    this.#ackedSet.add(seq);
    if (this.#acked.length >= 500) this.#flushAcks();
    else if (!this.#ackTimer) {
      this.#ackTimer = setTimeout(() => this.#guard(() => this.#flushAcks()), ACK_DELAY_MS);
    }
    this.#scheduleDrain();
  }

  /**
   * For the writer, inside the transaction of the next event's rows: removes the delivered rows from
   * the outbox there. That transaction inserts the event's own outbox rows, so the outbox's last page
   * is written anyway; the removal costs no page and no flush of its own. Returns what to do once the
   * transaction committed (nothing is forgotten if it rolls back: the marks stay pending). Never
   * throws: a failed removal is left to the timer.
   */
  joinCommit(): (() => void) | null {
    if (this.#acked.length === 0) return null;
    const batch = this.#acked;
    let removed: number;
    try {
      removed = this.#d.journal.outboxAckMany(batch);
    } catch {
      return null;
    }
    return () => this.#acksRemoved(batch, removed);
  }

  /** Removes the delivered rows from the outbox, in one transaction. */
  #flushAcks(): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (this.#acked.length === 0) return;
    const batch = this.#acked;
    let removed = 0;
    try {
      removed = this.#d.journal.outboxAckMany(batch);
    } catch (err) {
      // The rows stay queued (and may be sent again); try later.
      this.#d.log.error('could not remove delivered rows from the outbox; retrying', { error: String(err) });
      if (!this.#stopping) this.#ackTimer = setTimeout(() => this.#guard(() => this.#flushAcks()), 1000);
      return;
    }
    this.#acksRemoved(batch, removed);
  }

  #acksRemoved(batch: number[], removed: number): void {
    if (this.#acked === batch) {
      if (this.#ackTimer) clearTimeout(this.#ackTimer);
      this.#ackTimer = null;
      this.#acked = [];
      this.#ackedSet.clear();
    }
    if (removed === batch.length) {
      // A row above the mark that is not ours was never counted: its removal changes nothing.
      for (const seq of batch)
        if (seq <= this.#mark || this.#ownAbove.delete(seq)) this.#backlog = Math.max(0, this.#backlog - 1);
    } else this.#recount(); // some were gone already (an archive): count afresh
    this.#checkLevel();
    this.#maybeResume();
  }

  /** Adds the outbox rows written since the last count by other connections (CLI, account store). */
  #countNew(): void {
    const { n, max } = this.#d.journal.outboxCountAfter(this.#mark);
    if (max === null) return;
    // Our own rows above the mark are in `#backlog` already and, not yet removed, in `n`.
    let own = 0;
    for (const seq of this.#ownAbove) if (seq <= max) own++;
    this.#backlog += n - own;
    for (const seq of this.#ownAbove) if (seq <= max) this.#ownAbove.delete(seq);
    this.#mark = max;
  }

  /** Counts the whole outbox afresh (at start and with the heartbeat): corrects any drift. */
  #recount(): void {
    const { n, max } = this.#d.journal.outboxCountAfter(0);
    this.#backlog = n;
    this.#mark = Math.max(this.#mark, max ?? 0);
    this.#ownAbove.clear();
  }

  #drained(): boolean {
    return this.#inflight.size === 0 && this.#d.journal.outboxPeek(this.#cursor, 1).length === 0;
  }

  #checkLevel(): void {
    const fill = this.#backlog / this.maxBacklog;
    for (const level of BACKLOG_WARN_LEVELS) {
      if (fill >= level && !this.#warned.has(level)) {
        this.#warned.add(level);
        this.#d.log.warn(`mqtt backlog ${Math.round(level * 100)} % full`, {
          backlog: this.#backlog,
          maxBacklog: this.maxBacklog,
        });
      } else if (fill < level - 0.1) this.#warned.delete(level);
    }
  }

  #maybeResume(): void {
    if (!this.#full || this.#backlog >= this.maxBacklog * RESUME_BELOW) return;
    this.#full = false;
    const data = {
      backlog: this.#backlog,
      skipped: this.#skippedSinceFull,
      firstSkippedSeq: this.#firstSkipped,
      lastSkippedSeq: this.#lastSkipped,
    };
    this.#d.log.warn('mqtt backlog below 90 %: all rows are queued again', data);
    this.#later(() => this.#d.record('mqtt_backlog_resumed', data));
  }

  // -----------------------------------------------------------------------------------------------
  // Retained state

  #scheduleState(): void {
    if (this.#stateScheduled || !this.#connected || this.#holding) return;
    this.#stateScheduled = true;
    setImmediate(() => {
      this.#stateScheduled = false;
      this.#guard(() => this.#publishState(false));
    });
  }

  /** Publishes the door states and the active alarms that changed (all of them with `force`). */
  #publishState(force: boolean, alarmsToo = force): void {
    if (!this.#connected) return;
    const at = this.#d.now();
    const alarms = this.#d.activeAlarms();
    for (const door of this.#d.doors()) {
      const p = doorStatePayload(door, alarms, at);
      this.#publishIfChanged(this.topics.doorState(door.id), p, force);
    }
    this.#publishIfChanged(this.topics.alarmsActive, activeAlarmsPayload(alarms, at), force || alarmsToo);
  }

  #publishIfChanged(topic: string, payload: { at: number; time: string }, force: boolean): void {
    const key = JSON.stringify({ ...payload, at: 0, time: '' });
    if (!force && this.#lastState.get(topic) === key) return;
    this.#lastState.set(topic, key);
    this.#retain(topic, JSON.stringify(payload));
  }

  #publishOnline(): void {
    const payload = onlinePayload(
      {
        controllerId: this.#d.controllerId,
        siteId: this.#d.siteId,
        version: this.#d.version,
        startedAt: this.#d.startedAt,
        backlog: this.#backlog,
        maxBacklog: this.maxBacklog,
      },
      this.#d.now(),
    );
    this.#retain(this.topics.status, JSON.stringify(payload));
  }

  /**
   * Reads the checkpoint retained on our checkpoint topic (the head published before this start),
   * hands it to the runtime, then publishes our own. Subscribed only for this read.
   *
   * "None retained" is known without waiting out a timer: the topic is subscribed twice (QoS 0, then
   * QoS 1, which mqtt.js sends as a second SUBSCRIBE). The broker handles a client's packets in order
   * and queues a retained message while handling the SUBSCRIBE that matched it, so by the second
   * SUBACK a retained checkpoint has arrived, if there is one. `retainedWaitMs` bounds the whole read.
   */
  #readRetainedHead(): void {
    this.#headCheck = 'running';
    const client = this.#client!;
    const topic = this.topics.checkpoint;
    let done = false;
    const finish = (payload: unknown, found: boolean, problem?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      client.unsubscribe(topic, () => undefined);
      const early = this.#early;
      if (early && problem === undefined) {
        // Read before the first row: the runtime checks it before it writes anything.
        this.#headCheck = 'done';
        early.resolve(found ? { state: 'found', payload } : { state: 'none' });
        return;
      }
      if (early) {
        this.#headCheck = 'pending'; // read again at the first connection after release()
        early.resolve({ state: 'unreachable', reason: problem! });
        return;
      }
      this.#headCheck = 'done';
      if (found) this.#guard(() => this.#d.publishedHead?.(payload));
      else if (problem !== undefined)
        this.#d.log.warn('the checkpoint retained on MQTT was not read', { problem });
      else this.#d.log.info('no checkpoint retained on MQTT to compare the journal with');
      if (this.#connected && !this.#holding) this.#guard(() => this.#publishCheckpoint());
    };
    const onMessage = (t: string, message: Buffer) => {
      if (t !== topic) return;
      let payload: unknown = null;
      try {
        payload = JSON.parse(message.toString('utf8'));
      } catch {
        payload = null;
      }
      finish(payload, true);
    };
    client.on('message', onMessage);
    const timer = setTimeout(
      () => finish(null, false, `no answer from the broker within ${this.#retainedWaitMs} ms`),
      this.#retainedWaitMs,
    );
    const refused = (err: Error | null | undefined, granted: { qos: number }[] | undefined): boolean => {
      if (!err && granted?.[0]?.qos !== 128) return false;
      const problem = err ? String(err) : 'subscription refused';
      this.#d.log.warn(
        'cannot read the checkpoint retained on MQTT (does the broker ACL let the controller read its checkpoint topic?)',
        { topic, error: problem },
      );
      finish(null, false, `cannot subscribe to ${topic}: ${problem}`);
      return true;
    };
    client.subscribe(topic, { qos: 0 }, (err, granted) => {
      if (refused(err, granted)) return;
      client.subscribe(topic, { qos: 1 }, (err2, granted2) => {
        if (refused(err2, granted2)) return;
        finish(null, false);
      });
    });
  }

  #publishCheckpoint(): void {
    const cp = this.#d.journal.latestCheckpoint();
    // Once per checkpoint and connection: the start's is announced both by the writer and by release().
    if (!cp || this.#checkpointPublished === `${this.#generation}:${cp.seq}`) return;
    this.#checkpointPublished = `${this.#generation}:${cp.seq}`;
    this.#retain(this.topics.checkpoint, JSON.stringify(checkpointPayload(cp)));
  }

  #publishDiscovery(): void {
    const ha = this.#d.config.homeAssistant;
    if (!ha?.enabled) return;
    for (const m of discoveryMessages({
      discoveryPrefix: ha.discoveryPrefix,
      controllerId: this.#d.controllerId,
      version: this.#d.version,
      topics: this.topics,
      doors: this.#d.doors(),
    }))
      this.#retain(m.topic, m.payload);
  }

  /** Heartbeat: the status again (with the backlog) and the active alarms (re-announced). */
  #heartbeat(): void {
    this.#recount();
    this.#checkLevel();
    this.#maybeResume();
    if (!this.#connected || this.#holding) return;
    this.#publishOnline();
    this.#publishState(false, true);
  }

  #retain(topic: string, payload: string): void {
    this.#client?.publish(topic, payload, { qos: 1, retain: true }, () => undefined);
  }

  #publishAwait(topic: string, payload: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#client!.publish(topic, payload, { qos: 1, retain: true }, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // -----------------------------------------------------------------------------------------------

  readonly #lookup: PersonLookup = (id) => {
    try {
      return this.#d.lookupPerson?.(id);
    } catch {
      return undefined;
    }
  };

  #every(ms: number, fn: () => void): void {
    const t = setInterval(() => this.#guard(fn), ms);
    t.unref();
    this.#timers.push(t);
  }

  /** Runs fn on a later turn (never inside the caller's journal write), unless stopping. */
  #later(fn: () => void): void {
    // Before the controller's first row, the publisher's own rows wait (release()).
    if (this.#holding) {
      this.#held.push(fn);
      return;
    }
    setImmediate(() => {
      if (!this.#stopping) this.#guard(fn);
    });
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#d.log.error('mqtt publisher failed', { error: err instanceof Error ? err.stack : String(err) });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
