/**
 * The Controller: builds the runtime's parts from the config, wires them, starts them in order and
 * stops them in reverse order; the public surface the CLI, the dashboard, the tests and the bench use.
 *
 * The critical path is synchronous: badge read → decision → journal rows committed → lock output
 * (handleBadge). Nothing else (HTTP, MQTT, metrics) sits on it.
 *
 * The parts: the writer (writer.ts), the clock (clock.ts), the doors (doors.ts), the readers
 * (readers.ts), the derived state and the signed checkpoints (derived.ts), the visit rules (visits.ts).
 *
 * Over 500 lines as one cohesive thing: the wiring of the parts and the one surface over them; each
 * method is a thin step into a part.
 */

import type Database from 'better-sqlite3';
import {
  type Board,
  claimDoorPins,
  claimPowerPins,
  createBoard,
  secureLevels,
} from '../../hardware/index.js';
import { type CommissioningState, doorCommissioning } from '../commission/state.js';
import type { Config, LoadedConfig, ScheduleConfig } from '../config/index.js';
import type { PublishedHeadRecord } from '../domain/index.js';
import {
  type AccessRecord,
  alarmSeverity,
  type BadgeRead,
  type Decision,
  type DerivedState,
  type Direction,
  type DoorMode,
  dataFields,
  decide,
  doorMode,
  isRecordOf,
  listActiveAlarms,
  recordOf,
} from '../domain/index.js';
import type {
  DeviceSecrets,
  Journal,
  JournalHead,
  JournalInput,
  JournalRow,
  ReachedEvidence,
} from '../journal/index.js';
import {
  checkPublishedHead,
  findTruncation,
  headCheckRequired,
  maskCredential,
  publishedCheckpoint,
} from '../journal/index.js';
import { WalCheckpointer } from '../journal/wal-checkpointer.js';
import { createLogger, type Logger } from '../log.js';
import {
  MQTT_NOT_CONFIGURED,
  MqttPublisher,
  type MqttStatus,
  type PublisherTuning,
  type RetainedHead,
} from '../mqtt/index.js';
import type { Registry } from '../registry/index.js';
import { openStorage } from '../storage.js';
import {
  clockStepSource,
  clockSynchronised,
  readClockSynchronised,
  runtimeVersions,
  sekishoVersion,
} from '../system.js';
import { Clock } from './clock.js';
import { configLoadedRow } from './config-loaded.js';
import { Checkpoints, Derived } from './derived.js';
import { type DoorStatus, Doors } from './doors.js';
import { InputGate } from './input-gate.js';
import type { Part } from './part.js';
import { type PowerFailing, PowerMonitor, type PowerStatus } from './power.js';
import { lastOsdpSerial, type ReaderStatusView, Readers } from './readers.js';
import { StorageSpace, type StorageSpaceStatus } from './space.js';
import { Visits } from './visits.js';
import { Writer } from './writer.js';

const SOURCE_TEXT = {
  checkpoint: 'signed checkpoint',
  snapshot: 'signed snapshot',
  mqtt: 'checkpoint published on MQTT',
} as const;

export interface ControllerOptions {
  loaded: LoadedConfig;
  log?: Logger;
  /** The clock; tests may pass their own. */
  now?: () => number;
  /**
   * The monotonic clock the wall clock is watched against for steps. Omitted with `now` given: `now`
   * itself (a test's own clock never steps); omitted without: the process's monotonic clock.
   */
  mono?: () => number;
  /** A board to use instead of the one the config describes (tests). */
  board?: Board;
  /** MQTT publisher tuning (tests: e.g. a small maxBacklog). */
  mqttTuning?: PublisherTuning;
  /**
   * Who started the controller: the actor of the start's `config_loaded` row (`cli:<os user>`, from
   * `cliActor`). Omitted: not known (null).
   */
  startedBy?: string;
  /**
   * The power-fail input decided to shut down (doors secured, `power_failing` committed): the
   * process root stops cleanly. Without it the controller only secures and records.
   */
  onPowerFailing?: (failing: PowerFailing) => void;
}

export interface AccessOutcome {
  decision: Decision;
  row: JournalRow | null;
  doorId: string;
  direction: Direction;
}

export interface ControllerStatus {
  controllerId: string;
  siteId: string;
  version: string;
  startedAt: number;
  board: 'sim' | 'rpi';
  journal: {
    headSeq: number;
    headHash: string;
    storageOk: boolean;
    pendingWrites: number;
    /**
     * The WAL checkpoints run since start (WalCheckpointer): how many, the longest, failures, how many
     * waited for a frame to finish arriving, and the pages in the log at the latest one.
     */
    walCheckpoints: {
      count: number;
      walPages: number;
      maxMs: number;
      failures: number;
      waitedForFrames: number;
    };
  };
  /** The storage's free space and the `storage_low` condition (runtime/space.ts). */
  storage: StorageSpaceStatus;
  clockSynced: boolean | null;
  /** The sync state, the configured policy and the restriction in force at every door (null: none). */
  clock: ReturnType<Controller['clockState']>;
  doors: DoorStatus[];
  readers: ReaderStatusView[];
  alarms: ReturnType<Controller['activeAlarms']>;
  mqtt: MqttStatus;
  /** The power-fail input, when `power` is configured. */
  power: PowerStatus | null;
  /**
   * Each door's commissioning as read at start: whether the config requires it, its state, and
   * whether badges are barred for it (required and not `ok`).
   */
  commissioning: DoorCommissioningStatus[];
}

export interface DoorCommissioningStatus {
  door: string;
  required: boolean;
  state: CommissioningState;
  barred: boolean;
}

/** A restore with an unknown lost range needs the broker's head at the next start, and it was not read. */
export class HeadCheckRequiredError extends Error {}

function headCheckRefusal(restoredSeq: number, why: string, remedy: string): HeadCheckRequiredError {
  return new HeadCheckRequiredError(
    `the restore at seq ${restoredSeq} did not know which rows were lost (--lost-unknown), so this start must ` +
      `first read the head published on MQTT, and ${why}. The doors stay secured and nothing was written. ` +
      `${remedy}, or restore the backup again with --force and --lost-through SEQ or --checkpoint FILE`,
  );
}

export class Controller {
  readonly config: Config;
  readonly storageDir: string;
  readonly log: Logger;
  readonly now: () => number;
  readonly db: Database.Database;
  readonly journal: Journal;
  readonly registry: Registry;
  readonly secrets: DeviceSecrets;
  readonly board: Board;
  /** The board's input reports, held until the parts have started (input-gate.ts). */
  private readonly inputs: InputGate;
  /** The MQTT publisher, when `mqtt` is configured. */
  readonly mqtt: MqttPublisher | null;
  readonly startedAt: number;
  private readonly schedules: ScheduleConfig[];
  private readonly state: Derived;
  private readonly writer: Writer;
  private readonly doors: Doors;
  private readonly readers: Readers;
  private readonly visits: Visits;
  private readonly checkpoints: Checkpoints;
  private readonly clock: Clock;
  private readonly space: StorageSpace;
  private readonly power: PowerMonitor | null;
  /** The parts in start order; stop() stops them in reverse order. */
  private readonly parts: Part[];
  private stopped = false;
  /** A power failure was decided: no badge is decided and no door unlocks until the process ends. */
  private halted = false;
  private walCheckpointer: WalCheckpointer | null = null;
  private readonly loaded: LoadedConfig;
  private readonly startedBy: string | null;
  /** The journal's head when this start began (before its rows). */
  private startHead: JournalHead = { seq: 0, hash: '' };
  /**
   * Read once at start: `sekisho commission` cannot run beside the controller (it holds the board and
   * the storage lock), and the config is not reloaded, so neither side can change while it runs.
   */
  private readonly commissioning: DoorCommissioningStatus[];

  private constructor(opts: ControllerOptions) {
    const { config, storageDir } = opts.loaded;
    this.loaded = opts.loaded;
    this.startedBy = opts.startedBy ?? null;
    this.config = config;
    this.storageDir = storageDir;
    this.log = opts.log ?? createLogger();
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    // The built-in `always` schedule is decide()'s own; the config cannot redefine it.
    this.schedules = config.schedules;
    const guard = (fn: () => void) => this.guard(fn);

    // 1. The door hardware first, so the lock is driven to "secured" before anything else can fail.
    this.board = opts.board ?? createBoard(config);
    claimDoorPins(this.board, config.doors);
    claimPowerPins(this.board, config.power?.gpio, secureLevels(config.doors));
    // The inputs' start levels are reported on timers from now on; the parts hear them once started.
    this.inputs = new InputGate(this.board);

    // 2. Storage: secrets, database, journal, registry; rebuild derived state by folding the journal.
    const storage = openStorage(opts.loaded);
    this.secrets = storage.secrets;
    this.db = storage.db;
    this.journal = storage.journal;
    this.registry = storage.registry;
    const { db, journal, secrets, log, now } = this;
    const checks = doorCommissioning(journal, config, secrets.publicKey);
    this.commissioning = config.doors.map((d) => {
      const required = d.requireCommissioning === true;
      const state = checks.get(d.id)!.state;
      return { door: d.id, required, state, barred: required && state !== 'ok' };
    });
    this.state = new Derived({ db, journal, secrets, log, guard, caughtUp: () => this.visits.arm() });

    // 3. The MQTT publisher (connects at start; it only ever reads the journal and the state).
    this.mqtt = config.mqtt
      ? new MqttPublisher({
          config: config.mqtt,
          controllerId: config.controller.id,
          siteId: config.site.id,
          version: sekishoVersion(),
          startedAt: this.startedAt,
          journal,
          log,
          now,
          doors: () =>
            this.doors.snapshots().map((d) => ({ ...d, clockRestriction: this.clock.restriction() })),
          activeAlarms: () => this.activeAlarms(),
          record: (type, data) => {
            if (!this.stopped) this.writer.commit([{ ...recordOf(type, data), at: this.now() }]);
          },
          lookupPerson: (id) => this.registry.getPerson(id),
          tuning: opts.mqttTuning,
          publishedHead: (payload) => this.checkPublishedHead(payload),
        })
      : null;

    // 4. The parts.
    const derived = this.state;
    const mqtt = this.mqtt;
    // The checkpoint cadence first: the writer signs inside the commit that makes a checkpoint due.
    this.checkpoints = new Checkpoints({
      db,
      journal,
      secrets,
      log,
      now,
      guard,
      derived,
      mqtt,
      everyMs: config.storage.checkpointEveryS * 1000,
      everyRows: config.storage.checkpointEveryRows,
      snapshotEveryMs: config.storage.snapshotEveryS * 1000,
      pendingWrites: () => this.writer.pendingWrites,
    });
    this.writer = new Writer({
      journal,
      derived,
      mqtt,
      log,
      now,
      secureAll: () => this.secureAll(),
      beforeCommit: () => this.clock.check(),
      storageFault: () => this.space.afterFault(),
      cadence: this.checkpoints,
    });
    const writer = this.writer;
    this.doors = new Doors({
      config,
      board: this.inputs.board,
      derived,
      writer,
      now,
      guard,
      startedAt: this.startedAt,
      visitStep: (event) => this.visits.step(event),
      beforeStep: () => this.clock.check(),
    });
    const doors = this.doors;
    this.visits = new Visits({ config, derived, writer, doors, registry: this.registry, log, now, guard });
    this.clock = new Clock({
      config: config.clock,
      writer,
      log,
      guard,
      now,
      mono: opts.mono ?? (opts.now ? opts.now : undefined),
      synchronisedAtStart: clockSynchronised(),
      readSynchronised: readClockSynchronised,
      stepSource: clockStepSource,
      stepped: (stepMs) => {
        doors.clockStepped(stepMs);
        this.visits.arm();
      },
    });
    this.readers = new Readers({
      config,
      doors,
      writer,
      now,
      guard,
      access: this,
      journaledFirmware: () => {
        // Newest first: the first row of each reader is its latest version.
        const latest = new Map<string, string>();
        for (const row of journal.query({ types: ['reader_firmware'], limit: 10_000 })) {
          const d = dataFields(row);
          if (typeof d.reader === 'string' && typeof d.firmware === 'string' && !latest.has(d.reader))
            latest.set(d.reader, d.firmware);
        }
        return latest;
      },
      log: this.log,
      lastSerial: (reader) => lastOsdpSerial(this.journal, reader),
    });
    this.space = new StorageSpace({
      dir: storageDir,
      floorMiB: config.storage.lowSpaceMiB,
      everyMs: config.storage.lowSpaceCheckS * 1000,
      writer,
      derived,
      log,
      now,
      guard,
    });
    // The publisher connects after the readers start; it is stopped after the last rows (stop()).
    const publisher: Part = { start: () => mqtt?.start(), stop: () => undefined };
    this.power = config.power
      ? new PowerMonitor({
          config: config.power,
          board: this.inputs.board,
          writer,
          derived,
          now,
          guard,
          log,
          secureAll: () => {
            this.halted = true;
            this.doors.hold();
            this.secureAll();
          },
          onFailing: (failing) => opts.onPowerFailing?.(failing),
        })
      : null;
    // The power input starts last: a power failure found at start acts on a running controller.
    this.parts = [
      writer,
      this.clock,
      doors,
      this.readers,
      publisher,
      derived,
      this.visits,
      this.checkpoints,
      this.space,
    ];
    if (this.power) this.parts.push(this.power);
  }

  static async start(opts: ControllerOptions): Promise<Controller> {
    const c = new Controller(opts);
    try {
      // The doors are secured (step 1) and no reader runs yet while the broker's head is awaited.
      const retained = await c.awaitPublishedHead();
      c.begin(retained);
    } catch (err) {
      c.secureAll();
      await c.walCheckpointer?.stop();
      await c.mqtt?.stop();
      throw err;
    }
    return c;
  }

  /**
   * The checkpoint retained on the broker, read before the first row, so that a journal cut back
   * below it (rows, checkpoints and snapshots deleted on the device) never reuses a seq the outside
   * world saw: at most `mqtt.headWaitS`. Null without MQTT.
   */
  private async awaitPublishedHead(): Promise<RetainedHead | 'skipped' | null> {
    const mqtt = this.mqtt;
    const required = headCheckRequired(this.db);
    if (!mqtt || !this.config.mqtt) {
      if (required) throw headCheckRefusal(required.restoredSeq, 'mqtt is not configured', 'Configure mqtt');
      return null;
    }
    const waitS = this.config.mqtt.headWaitS;
    if (waitS === 0 && !required) return 'skipped';
    const retained = await mqtt.readHeadBeforeStart(Math.max(waitS, 1) * 1000);
    if (required && retained.state === 'unreachable')
      throw headCheckRefusal(
        required.restoredSeq,
        `it could not: ${retained.reason}`,
        'Make the broker reachable and start again (mqtt.headWaitS waits longer)',
      );
    return retained;
  }

  /**
   * The start's view of the broker's head: checked before any row, and the evidence if the journal
   * is behind it.
   */
  private publishedHeadAtStart(retained: RetainedHead | 'skipped'): {
    record: PublishedHeadRecord;
    evidence: ReachedEvidence | null;
  } {
    if (retained === 'skipped') return { record: { result: 'skipped', checked: false }, evidence: null };
    if (retained.state === 'unreachable') {
      this.log.warn(
        'the head published on MQTT was not read before the start: it is checked once the broker answers, ' +
          'after the start’s rows; until then only a witness would see a reused seq (as a fork)',
        { problem: retained.reason, headWaitS: this.config.mqtt?.headWaitS },
      );
      return { record: { result: 'unreachable', checked: false, problem: retained.reason }, evidence: null };
    }
    if (retained.state === 'none') return { record: { result: 'none', checked: true }, evidence: null };
    const r = publishedCheckpoint(retained.payload, this.config.controller.id, this.secrets.publicKey);
    if ('problem' in r) {
      this.log.warn('the checkpoint retained on MQTT cannot be used for the start check', {
        problem: r.problem,
      });
      return { record: { result: 'invalid', checked: true, problem: r.problem }, evidence: null };
    }
    const cp = r.checkpoint;
    const check = checkPublishedHead(this.db, this.startHead, cp);
    const evidence: ReachedEvidence = { source: 'mqtt', seq: cp.seq, hash: cp.hash, at: cp.at };
    if (check.kind === 'ok') {
      this.log.info('the journal holds the head published on MQTT', { seq: cp.seq });
      return { record: { result: 'matched', checked: true, seq: cp.seq }, evidence: null };
    }
    return {
      record: { result: check.kind === 'behind' ? 'behind' : 'diverged', checked: true, seq: cp.seq },
      evidence,
    };
  }

  private begin(retained: RetainedHead | 'skipped' | null = null): void {
    // WAL checkpoints run from a timer between events, never inside a commit on the door path.
    // A checkpoint waits while a reader is receiving a frame, so that the badge does not wait for it.
    this.walCheckpointer = WalCheckpointer.start(this.db, this.log, {
      busy: () => this.readers.receiving(),
      minPages: this.config.storage.walCheckpointPages,
    });
    // Never append silently to a journal cut back behind what it had signed (docs/journal.md).
    this.startHead = this.journal.head();
    const truncation = findTruncation(this.db, this.startHead, this.secrets.publicKey);
    if (truncation && truncation.unsigned > 0)
      this.log.warn('checkpoints or snapshots beyond the head do not verify with the device key', {
        count: truncation.unsigned,
      });
    const published = retained ? this.publishedHeadAtStart(retained) : null;
    // The statement that reaches furthest decides the gap: every seq up to it is skipped.
    const local = truncation?.evidence ?? null;
    const mqttEvidence = published?.evidence ?? null;
    if (local && (!mqttEvidence || local.seq >= mqttEvidence.seq)) this.declareTruncation(local);
    else if (mqttEvidence) this.declareTruncation(mqttEvidence);
    const at = this.now();
    const started: JournalInput[] = [
      {
        type: 'controller_started',
        at,
        data: {
          version: sekishoVersion(),
          clockSynced: this.clock.synchronised,
          board: this.board.kind,
          doors: this.config.doors.map((d) => d.id),
          runtime: runtimeVersions(this.db.prepare<[], string>('SELECT sqlite_version()').pluck().get()!),
          ...(published ? { publishedHead: published.record } : {}),
        },
      },
      // What this start's rules are, and what changed in them since the previous start.
      configLoadedRow(this, this.loaded, { at, actor: this.startedBy, log: this.log }),
    ];
    // Make the secured state a record too, so the log shows how every start left the door.
    for (const d of this.config.doors)
      started.push({ type: 'door_locked', at, door: d.id, data: { cause: 'startup' } });
    // A signed checkpoint of every start, inside the commit of its last row.
    this.writer.commit(started, undefined, { checkpoint: true });
    for (const part of this.parts) part.start();
    // What the inputs reported while the broker's head was awaited (their start levels).
    this.inputs.open();
    // The publisher held its own rows, its state and its checkpoint back until now: the start's rows
    // are written and the doors report their inputs.
    this.mqtt?.release();
  }

  /**
   * The journal reached `evidence.seq` once and no longer does: a gap row that skips every seq up to
   * it (so none is used twice), then a critical `journal_truncated` alarm. The next checkpoint signs
   * both. `reused`: rows were appended since the start before this was found (the MQTT check).
   */
  private declareTruncation(evidence: ReachedEvidence, reused = false): void {
    const head = this.journal.head();
    const at = this.now();
    const gap = this.writer.declareGap({
      type: 'journal_truncated',
      at,
      data: {
        lostFrom: (reused ? this.startHead.seq : head.seq) + 1,
        lostThrough: evidence.seq,
        foundHeadSeq: head.seq,
        foundHeadHash: head.hash,
        evidence: evidence.source,
        evidenceSeq: evidence.seq,
        evidenceHash: evidence.hash,
        evidenceAt: evidence.at,
        ...(reused ? { reused } : {}),
      },
    });
    const lost =
      gap.seq > head.seq + 1
        ? `rows ${head.seq + 1} to ${evidence.seq} are gone`
        : `the journal holds another row at seq ${evidence.seq}: rows were removed and their seqs reused, or rewritten`;
    const detail =
      `the journal's head (seq ${head.seq}) is behind the ${SOURCE_TEXT[evidence.source]} for seq ${evidence.seq} ` +
      `signed at ${new Date(evidence.at).toISOString()}: ${lost}; recorded at seq ${gap.seq}` +
      (reused ? ` (seqs after ${this.startHead.seq} were written before this was found)` : '');
    this.writer.raiseAlarm('journal_truncated', alarmSeverity('journal_truncated'), null, detail, at);
    this.log.error('journal truncated', {
      foundHead: head.seq,
      evidence: evidence.source,
      seq: evidence.seq,
    });
  }

  /**
   * The checkpoint retained on the broker, read once when the publisher first connects (an async check
   * after start): a journal behind it, or holding another row at its seq, raises `journal_truncated`.
   */
  private checkPublishedHead(payload: unknown): void {
    if (this.stopped) return;
    const r = publishedCheckpoint(payload, this.config.controller.id, this.secrets.publicKey);
    if ('problem' in r) {
      this.log.warn('the checkpoint retained on MQTT cannot be used for the start check', {
        problem: r.problem,
      });
      return;
    }
    const cp = r.checkpoint;
    const head = this.journal.head();
    const check = checkPublishedHead(this.db, head, cp);
    if (check.kind === 'ok') {
      this.log.info('the journal holds the head published on MQTT', { seq: cp.seq });
      return;
    }
    const evidence: ReachedEvidence = { source: 'mqtt', seq: cp.seq, hash: cp.hash, at: cp.at };
    this.declareTruncation(evidence, head.seq > this.startHead.seq);
    this.checkpoints.checkpoint();
  }

  /** The derived state (presence with escorts, visits, alarms, modes), folded up to the latest row. */
  get derived(): DerivedState {
    return this.state.current;
  }

  // ---------------------------------------------------------------------------------------------
  // The critical path

  /** Decide a badge read, commit its row, then (and only then) drive the door. */
  handleBadge(read: BadgeRead): AccessOutcome {
    // A clock step is journaled (and the timers moved) before the decision that reads the clock.
    this.clock.check();
    const where = this.doors.served(read.readerId);
    if (!where) throw new Error(`reader ${read.readerId} serves no door`);
    const { doorId, direction } = where;
    const badge = this.registry.findBadgeByCredential(read.credential);
    const person = badge ? this.registry.getPerson(badge.personId) : undefined;
    // Shutting down for a power failure: the badge is recorded as refused, never decided (the doors
    // are held secured; nothing below may open one).
    if (this.halted)
      this.log.warn('badge refused: the controller is shutting down for a power failure', {
        reader: read.readerId,
      });
    const decision: Decision = this.halted
      ? { granted: false, reason: 'shutting_down' }
      : decide({
          at: read.at,
          timeZone: this.config.timeZone,
          doorId,
          direction,
          badge,
          person,
          permissions: person ? this.registry.permissionsFor(person.id) : [],
          schedules: this.schedules,
          holidays: this.config.holidays,
          mode: doorMode(this.state.current, doorId),
          clock: this.clock.trust(),
          commissioned: !this.commissioning.find((c) => c.door === doorId)?.barred,
        });
    const access: AccessRecord = {
      reader: read.readerId,
      direction,
      result: decision.granted ? 'granted' : 'denied',
      reason: decision.reason,
      badge: badge?.id ?? null,
      masked: badge?.masked ?? maskCredential(read.credential),
      format: read.format,
      personName: person?.name ?? null,
      category: person?.category ?? null,
    };
    // The visit rules (escorts, presence, anti-passback) turn the decision into rows and unlocks.
    const visitPerson = person
      ? { id: person.id, category: person.category, mayEscort: this.registry.mayEscort(person.id) }
      : null;
    const { rows, unlockSkipped } = this.visits.step({
      kind: 'badge',
      at: read.at,
      doorId,
      direction,
      access,
      person: visitPerson,
    });
    const own = rows.find(
      (r): r is JournalRow<'access'> =>
        isRecordOf(r, 'access') && r.person === (person?.id ?? null) && r.data.reader === read.readerId,
    );
    if (!own) {
      this.log.error('access row could not be committed; door stays locked', { door: doorId });
      return { decision: { granted: false, reason: 'storage_unavailable' }, row: null, doorId, direction };
    }
    const result = own.data;
    // A committed grant whose group's unlock was skipped (another row of the group failed): the door
    // stayed shut, so the caller is told what happened at the door, not what was decided.
    const granted = result.result === 'granted' && !unlockSkipped;
    return {
      decision: granted
        ? { granted: true, reason: result.reason }
        : { granted: false, reason: unlockSkipped ? 'storage_unavailable' : result.reason },
      row: own,
      doorId,
      direction,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Alarms

  raiseAlarm(...args: Parameters<Writer['raiseAlarm']>): void {
    this.writer.raiseAlarm(...args);
  }

  /** The condition of the matching active alarms no longer holds (e.g. a break-glass use reviewed). */
  clearAlarmCondition(...args: Parameters<Writer['clearAlarmCondition']>): void {
    this.writer.clearAlarmCondition(...args);
  }

  activeAlarms() {
    return listActiveAlarms(this.state.current.alarms);
  }

  acknowledgeAlarm(alarmId: number, actor: string, comment: string): boolean {
    const a = this.state.current.alarms.active[alarmId];
    if (!a || a.acknowledged) return false;
    return (
      this.writer.commit([
        { type: 'alarm_acknowledged', at: this.now(), door: a.door, actor, data: { alarmId, comment } },
      ]) === 'committed'
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Administration

  setMode(doorId: string, mode: DoorMode, actor: string): void {
    if (!this.doors.has(doorId)) throw new Error(`no door ${doorId}`);
    const at = this.now();
    if (
      this.writer.commit([{ type: 'mode_changed', at, door: doorId, actor, data: { mode } }]) !== 'committed'
    )
      throw new Error('the journal cannot be written; mode not changed');
    this.doors.step(doorId, { kind: 'mode', mode, at });
  }

  /**
   * A manager states who is really inside a room (after exits by the exit button made presence
   * uncertain). Journaled as `presence_reconciled` with the actor and a note; clears what it settles.
   */
  reconcilePresence(
    doorId: string,
    present: { personId: string; escort?: string | null }[],
    actor: string,
    note: string,
  ): void {
    if (!this.doors.has(doorId)) throw new Error(`no door ${doorId}`);
    const listed = present.map((p) => {
      const person = this.registry.getPerson(p.personId);
      if (!person) throw new Error(`no person ${p.personId}`);
      return { personId: person.id, category: person.category, escort: p.escort ?? null };
    });
    const { failed } = this.visits.step({
      kind: 'reconcile',
      at: this.now(),
      doorId,
      actor,
      present: listed,
      note,
    });
    if (failed) throw new Error('the journal cannot be written; presence not reconciled');
  }

  /** Feed a simulated reader (simulation mode; the same path as a serial frame). */
  simulateBadge(readerId: string, credential: string, format = 'em4100'): AccessOutcome {
    // A real door only believes its readers: no route or script may present a badge for them.
    if (this.board.kind !== 'sim') throw new Error('simulateBadge: only with a simulated board');
    const rc = this.config.readers.find((r) => r.id === readerId);
    if (!rc) throw new Error(`no reader ${readerId}`);
    return this.writer.event(() => this.handleBadge({ readerId, credential, format, at: this.now() }));
  }

  onRow(listener: (row: JournalRow) => void): void {
    this.writer.onRow(listener);
  }

  /**
   * For writers of many batches into the database (the dashboard's log index): awaited between two
   * batches, it checkpoints the write-ahead log when the latest checkpoint is 100 ms old, so that the
   * log stays small and each checkpoint short (WalCheckpointer.room).
   */
  walRoom(): Promise<void> {
    return this.walCheckpointer?.room() ?? Promise.resolve();
  }

  status(): ControllerStatus {
    const head = this.journal.head();
    return {
      controllerId: this.config.controller.id,
      siteId: this.config.site.id,
      version: sekishoVersion(),
      startedAt: this.startedAt,
      board: this.board.kind,
      journal: {
        headSeq: head.seq,
        headHash: head.hash,
        storageOk: this.writer.storageOk,
        pendingWrites: this.writer.pendingWrites,
        walCheckpoints: this.walCheckpoints(),
      },
      storage: this.space.status(),
      clockSynced: this.clock.synchronised,
      clock: this.clockState(),
      doors: this.doors.status(),
      readers: this.readers.status(),
      alarms: this.activeAlarms(),
      mqtt: this.mqtt?.status() ?? MQTT_NOT_CONFIGURED,
      power: this.power?.status() ?? null,
      commissioning: this.commissioning.map((c) => ({ ...c })),
    };
  }

  /** The clock as the doors see it: sync state, configured policy, restriction in force (or null). */
  clockState() {
    return {
      synchronised: this.clock.synchronised,
      whenUnsynchronised: this.clock.policy,
      restriction: this.clock.restriction(),
      /** Wall-clock steps since start: how many, and the latest (when, by how much, who set it). */
      steps: this.clock.steps,
    };
  }

  /** Asks the clock's sync state now and journals a change (tests; the clock part polls on its own). */
  pollClock(): Promise<void> {
    return this.clock.poll();
  }

  private walCheckpoints(): ControllerStatus['journal']['walCheckpoints'] {
    const w = this.walCheckpointer?.stats();
    return {
      count: w?.checkpoints ?? 0,
      walPages: w?.walPages ?? 0,
      maxMs: w?.maxMs ?? 0,
      failures: w?.failures ?? 0,
      waitedForFrames: w?.waitedForFrames ?? 0,
    };
  }

  /** Sign a checkpoint of the journal's head (and snapshot the derived state if it is at the head). */
  checkpoint(): void {
    this.checkpoints.checkpoint();
  }

  // ---------------------------------------------------------------------------------------------
  // Safety and shutdown

  /** Drive every lock output to "secured". Synchronous and never throws. */
  secureAll(): void {
    this.doors.secureAll();
  }

  /** Run a handler; any failure secures the doors and is logged instead of crashing the process. */
  private guard(fn: () => void): void {
    try {
      // One event, one transaction: every row the handler commits is committed together.
      this.writer.event(fn);
    } catch (err) {
      this.log.error('handler failed; doors secured', {
        error: err instanceof Error ? err.stack : String(err),
      });
      this.secureAll();
    }
  }

  async stop(reason: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.secureAll();
    // Every part stops its timers and inputs, newest first. The stops begin together and are awaited
    // together (the readers close their ports), so no timer fires while a port is closing.
    await Promise.all(this.parts.toReversed().map((part) => part.stop()));
    const at = this.now();
    try {
      this.writer.retry();
      const stopped: JournalInput[] = this.doors
        .notLocked()
        .map((door) => ({ type: 'door_locked', at, door, data: { cause: 'shutdown' } }));
      stopped.push({ type: 'controller_stopped', at, data: { reason } });
      // A signed checkpoint of every clean stop, inside the commit of its last row.
      this.writer.commit(stopped, undefined, { checkpoint: true });
      this.checkpoints.checkpoint();
    } catch (err) {
      this.log.error('could not record the stop', { error: String(err) });
    }
    try {
      this.board.close(secureLevels(this.config.doors));
    } catch (err) {
      this.log.error('closing the board failed', { error: String(err) });
    }
    this.writer.announceNow();
    // Deliver what is left (bounded wait), publish "offline" and disconnect; the rest stays queued.
    await this.mqtt
      ?.stop()
      .catch((err: unknown) => this.log.error('mqtt stop failed', { error: String(err) }));
    await this.walCheckpointer?.stop();
    this.db.close();
  }
}
