/**
 * The composition root: builds the parts from the config, wires them, starts and stops them in order.
 *
 * The critical path is synchronous: badge read → decision → journal row committed → lock output.
 * Nothing else (HTTP, MQTT, metrics) sits on it.
 */

import type Database from 'better-sqlite3';
import { ReaderPort, type ReaderStatus } from '../firmware-bridge/index.js';
import {
  type Board,
  claimDoorPins,
  createBoard,
  type DoorPinNames,
  doorPinNames,
  lockOutputLevel,
  secureLevels,
} from '../hardware/index.js';
import {
  type DoorSnapshot,
  MQTT_NOT_CONFIGURED,
  MqttPublisher,
  type MqttStatus,
  type PublisherTuning,
} from './alarms/index.js';
import type { Config, DoorConfig, LoadedConfig, ScheduleConfig } from './config/index.js';
import {
  type AccessRecord,
  type AlarmSeverity,
  type AlarmType,
  alarmSeverity,
  alarmsAwaitingClear,
  type BadgeRead,
  type Decision,
  type DerivedState,
  type Direction,
  type DoorAction,
  type DoorEvent,
  type DoorMode,
  type DoorState,
  decide,
  doorMode,
  foldRow,
  foldRows,
  initialDerivedState,
  initialDoorState,
  listActiveAlarms,
  nextDeadline,
  nextVisitDeadline,
  openConditions,
  READER_STARTING,
  type ReaderCondition,
  type ReaderReport,
  restoreDerivedState,
  snapshotDerivedState,
  stepDoor,
  stepReader,
  stepVisits,
  type VisitAction,
  type VisitEvent,
  type VisitSettings,
  visitSettings,
  whoIsInside,
} from './domain/index.js';
import type { DeviceSecrets, Journal, JournalInput, JournalRow, Registry } from './journal/index.js';
import { loadLatestSnapshot, maskCredential, saveSnapshot } from './journal/index.js';
import { WalCheckpointer } from './journal/wal-checkpointer.js';
import { createLogger, type Logger } from './log.js';
import { openStorage } from './storage.js';
import { clockSynchronised, sekishoVersion } from './system.js';

export interface ControllerOptions {
  loaded: LoadedConfig;
  log?: Logger;
  /** The clock; tests may pass their own. */
  now?: () => number;
  /** A board to use instead of the one the config describes (tests). */
  board?: Board;
  /** MQTT publisher tuning (tests: e.g. a small maxBacklog). */
  mqttTuning?: PublisherTuning;
}

interface DoorRuntime {
  cfg: DoorConfig;
  state: DoorState;
  timer: NodeJS.Timeout | null;
  pins: DoorPinNames;
}

export interface AccessOutcome {
  decision: Decision;
  row: JournalRow | null;
  doorId: string;
  direction: Direction;
}

export interface DoorStatus {
  id: string;
  name: string;
  locked: boolean;
  contact: 'open' | 'closed' | 'unknown';
  mode: DoorMode;
  lockOutput: boolean;
  occupants: { personId: string; since: number }[];
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
  clockSynced: boolean | null;
  doors: DoorStatus[];
  readers: { id: string; online: boolean; reason: string }[];
  alarms: ReturnType<Controller['activeAlarms']>;
  mqtt: MqttStatus;
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
  /** The MQTT publisher, when `mqtt` is configured. */
  readonly mqtt: MqttPublisher | null;
  derived: DerivedState;
  readonly startedAt: number;
  private readonly doors = new Map<string, DoorRuntime>();
  private readonly readerDoor = new Map<string, { doorId: string; direction: Direction }>();
  private readonly readers = new Map<string, ReaderPort>();
  private readonly readerState = new Map<string, ReaderCondition>();
  private readonly schedules: ScheduleConfig[];
  private readonly visits: VisitSettings;
  private visitTimer: NodeJS.Timeout | null = null;
  /** When visitTimer fires (UTC ms). */
  private visitTimerDue: number | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Records that could not be written (storage fault); retried in order, never dropped. */
  private readonly pending: JournalInput[] = [];
  private storageOk = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private lastCheckpointSeq = 0;
  private stopped = false;
  private walCheckpointer: WalCheckpointer | null = null;
  private readonly rowListeners: ((row: JournalRow) => void)[] = [];
  /** Committed rows not yet announced to the row listeners (see afterCommit). */
  private readonly announce: JournalRow[] = [];

  private constructor(opts: ControllerOptions) {
    const { config, storageDir } = opts.loaded;
    this.config = config;
    this.storageDir = storageDir;
    this.log = opts.log ?? createLogger();
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.visits = visitSettings(config);
    // The built-in `always` schedule is decide()'s own; the config cannot redefine it.
    this.schedules = config.schedules;

    // 1. The door hardware first, so the lock is driven to "secured" before anything else can fail.
    this.board = opts.board ?? createBoard(config);
    claimDoorPins(this.board, config.doors);
    for (const door of config.doors) {
      this.doors.set(door.id, {
        cfg: door,
        state: initialDoorState(this.startedAt, undefined),
        timer: null,
        pins: doorPinNames(door.id),
      });
      this.readerDoor.set(door.entryReader, { doorId: door.id, direction: 'in' });
      if (door.exitReader) this.readerDoor.set(door.exitReader, { doorId: door.id, direction: 'out' });
    }

    // 2. Storage: secrets, database, journal, registry; rebuild derived state by folding the journal.
    const storage = openStorage(opts.loaded);
    this.secrets = storage.secrets;
    this.db = storage.db;
    this.journal = storage.journal;
    this.registry = storage.registry;
    this.derived = this.rebuildDerived();
    // Door machines start locked, in the journal's mode, knowing which alarm conditions were open.
    for (const rt of this.doors.values()) {
      rt.state = initialDoorState(this.startedAt, undefined, {
        mode: doorMode(this.derived, rt.cfg.id),
        openConditions: openConditions(this.derived.alarms, rt.cfg.id),
      });
    }

    // 3. The MQTT publisher (connects in begin(); it only ever reads the journal and the state).
    this.mqtt = config.mqtt
      ? new MqttPublisher({
          config: config.mqtt,
          controllerId: config.controller.id,
          siteId: config.site.id,
          version: sekishoVersion(),
          startedAt: this.startedAt,
          journal: this.journal,
          log: this.log,
          now: this.now,
          doors: () => this.doorSnapshots(),
          activeAlarms: () => this.activeAlarms(),
          record: (type, data) => {
            if (!this.stopped) this.write({ type, at: this.now(), data });
          },
          lookupPerson: (id) => this.registry.getPerson(id),
          tuning: opts.mqttTuning,
        })
      : null;
  }

  static async start(opts: ControllerOptions): Promise<Controller> {
    const c = new Controller(opts);
    try {
      c.begin();
    } catch (err) {
      c.secureAll();
      await c.walCheckpointer?.stop();
      throw err;
    }
    return c;
  }

  private begin(): void {
    // WAL checkpoints run from a timer between events, never inside a commit on the door path.
    // A checkpoint waits while a reader is receiving a frame, so that the badge does not wait for it.
    this.walCheckpointer = WalCheckpointer.start(this.db, this.log, {
      busy: () => {
        for (const r of this.readers.values()) if (r.receiving()) return true;
        return false;
      },
    });
    const at = this.now();
    this.write({
      type: 'controller_started',
      at,
      data: {
        version: sekishoVersion(),
        clockSynced: clockSynchronised(),
        board: this.board.kind,
        doors: this.config.doors.map((d) => d.id),
      },
    });
    for (const doorId of this.doors.keys()) {
      // Make the secured state a record too, so the log shows how every start left the door.
      this.write({ type: 'door_locked', at, door: doorId, data: { cause: 'startup' } });
    }
    // Input levels (the first one included) arrive through the board's debounce timers, after this.
    this.board.onInput((name, active, when) => this.onInput(name, active, when));
    for (const rc of this.config.readers) {
      if (rc.path === 'sim') {
        this.readerState.set(rc.id, { online: true, reason: 'simulated' });
        continue;
      }
      this.readerState.set(rc.id, { online: false, reason: READER_STARTING });
      const port = new ReaderPort(rc, { now: this.now });
      port.on('badge', (read: BadgeRead) => this.guard(() => this.handleBadge(read)));
      port.on('status', (s: ReaderStatus) =>
        this.guard(() =>
          this.onReaderReport(s.readerId, {
            kind: 'status',
            online: s.online,
            reason: s.reason,
            ...(s.flood && { flood: s.flood }),
          }),
        ),
      );
      port.on('floodSettled', (e) =>
        this.guard(() => this.onReaderReport(e.readerId, { kind: 'flood-settled' })),
      );
      port.on('tamper', (t: { readerId: string; active: boolean }) =>
        this.guard(() => this.onReaderTamper(t.readerId, t.active)),
      );
      this.readers.set(rc.id, port);
      port.start();
    }
    this.mqtt?.start();
    // Rows written by other processes (the CLI issuing a visitor badge, say) are folded within a second.
    const maxSeq = this.db.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM journal');
    this.syncTimer = setInterval(
      () =>
        this.guard(() => {
          const m = maxSeq.get()?.m ?? 0;
          if (m > this.derived.lastSeq) {
            this.derived = foldRows(this.derived, this.journal.iterate(this.derived.lastSeq + 1));
            this.armVisits();
          }
        }),
      1000,
    );
    this.syncTimer.unref();
    this.armVisits();
    const every = this.config.storage.checkpointEveryS * 1000;
    this.checkpointTimer = setInterval(() => this.guard(() => this.checkpoint()), every);
    this.checkpointTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // The critical path

  /** Decide a badge read, commit its row, then (and only then) drive the door. */
  handleBadge(read: BadgeRead): AccessOutcome {
    const where = this.readerDoor.get(read.readerId);
    if (!where) throw new Error(`reader ${read.readerId} serves no door`);
    const { doorId, direction } = where;
    const badge = this.registry.findBadgeByCredential(read.credential);
    const person = badge ? this.registry.getPerson(badge.personId) : undefined;
    const decision = decide({
      at: read.at,
      timeZone: this.config.timeZone,
      doorId,
      direction,
      badge,
      person,
      permissions: person ? this.registry.permissionsFor(person.id) : [],
      schedules: this.schedules,
      holidays: this.config.holidays,
      mode: doorMode(this.derived, doorId),
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
    const { rows, unlockSkipped } = this.visitStep({
      kind: 'badge',
      at: read.at,
      doorId,
      direction,
      access,
      person: visitPerson,
    });
    const own = rows.find(
      (r) => r.type === 'access' && r.person === (person?.id ?? null) && r.data.reader === read.readerId,
    );
    if (!own) {
      this.log.error('access row could not be committed; door stays locked', { door: doorId });
      return { decision: { granted: false, reason: 'storage_unavailable' }, row: null, doorId, direction };
    }
    const result = own.data as AccessRecord;
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

  /**
   * Feed the visit rules one event and perform their actions in order: rows first, then the unlock
   * they justify. If an access row cannot be committed the door does not open, a queued granted
   * access row is rewritten as refused (`storage_unavailable`) — it is what happened — and an
   * `unlock_skipped` record names any grants of the same group that were already committed.
   */
  private visitStep(event: VisitEvent): { rows: JournalRow[]; failed: boolean; unlockSkipped: boolean } {
    const { actions } = stepVisits(this.derived, event, this.visits);
    const rows: JournalRow[] = [];
    let failed = false;
    let unlockSkipped = false;
    // An unlock is justified by its access rows: it is skipped when one of them was not committed.
    // (Other rows that fail — an alarm, a note — are queued and written when storage recovers.)
    let accessFailed = false;
    const write = (input: JournalInput) => {
      const row = this.write(input);
      if (row) rows.push(row);
      else {
        failed = true;
        if (input.type === 'access') accessFailed = true;
        if (input.type === 'access' && input.data.result === 'granted') {
          input.data.decided = input.data.reason;
          input.data.result = 'denied';
          input.data.reason = 'storage_unavailable';
        }
      }
    };
    for (const a of actions as VisitAction[]) {
      switch (a.kind) {
        case 'record':
          write(a.record as JournalInput);
          break;
        case 'unlock':
          if (!accessFailed) this.step(a.doorId, { kind: 'grant', at: a.at });
          else {
            unlockSkipped = true;
            // Some of the group's access rows were committed as granted before storage failed: say,
            // in a record queued for when storage recovers, that the door did not open for them.
            const granted = rows.filter((r) => r.type === 'access' && r.data.result === 'granted');
            if (granted.length > 0)
              this.write({
                type: 'unlock_skipped',
                at: a.at,
                door: a.doorId,
                data: {
                  reason: 'storage_unavailable',
                  grants: granted.map((r) => r.seq),
                  // The fold takes them out of the room again: the door never opened for them.
                  entering: granted
                    .filter((r) => r.data.direction === 'in' && r.person !== null)
                    .map((r) => r.person as string),
                },
              });
          }
          break;
        case 'alarm_raise':
          write({
            type: 'alarm_raised',
            at: a.at,
            door: a.door,
            person: a.person,
            data: { alarm: a.alarm, severity: a.severity, detail: a.detail },
          });
          this.log.warn(`alarm ${a.alarm}`, { door: a.door, severity: a.severity, detail: a.detail });
          break;
        case 'alarm_condition_cleared':
          for (const alarmId of a.alarmIds)
            write({
              type: 'alarm_condition_cleared',
              at: a.at,
              door: a.door,
              person: a.person,
              data: { alarmId },
            });
          break;
        case 'visitor_badge_in_use':
          // Only for an entry that happened: not when the group's rows failed and the door stayed shut.
          if (accessFailed) break;
          try {
            this.registry.markVisitorBadgeInUse(a.badgeId, 'controller', a.at);
          } catch (err) {
            this.log.error('could not mark a visitor badge in use', { badge: a.badgeId, error: String(err) });
          }
          break;
      }
    }
    this.armVisits();
    return { rows, failed, unlockSkipped };
  }

  /** The visit rules' next deadline (escort windows, room-secured checks, end of day, badge expiry). */
  private armVisits(): void {
    const now = this.now();
    const when = this.stopped ? null : nextVisitDeadline(this.derived, this.visits, now);
    // While storage is failing the state cannot advance: don't spin on an overdue deadline.
    const due = when === null ? null : Math.max(this.storageOk ? 0 : 1000, when - now) + now;
    // Most steps leave the deadline where it was (the end of the day, a room's check): keep that
    // timer. The timer is not unref'd: Node keeps the empty list of a cleared unref'd timer until
    // its duration has passed, so re-arming one at every badge kept a list per badge for up to a day.
    // (stop() clears it.)
    if (this.visitTimer !== null && due === this.visitTimerDue) return;
    if (this.visitTimer) clearTimeout(this.visitTimer);
    this.visitTimer = null;
    this.visitTimerDue = null;
    if (due === null) return;
    this.visitTimerDue = due;
    this.visitTimer = setTimeout(() => {
      this.visitTimer = null;
      this.visitTimerDue = null;
      this.guard(() => this.visitStep({ kind: 'tick', at: this.now() }));
    }, due - now);
  }

  private onInput(name: string, active: boolean, at: number): void {
    this.guard(() => {
      const dot = name.lastIndexOf('.');
      const doorId = name.slice(0, dot);
      const role = name.slice(dot + 1);
      if (!this.doors.has(doorId)) return;
      if (role === 'contact') this.step(doorId, { kind: 'contact', open: active, at });
      else if (role === 'tamper') this.step(doorId, { kind: 'tamper', active, at });
      else if (role === 'exitButton' && active) {
        if (this.write({ type: 'exit_request', at, door: doorId, data: {} }) === null) return;
        this.step(doorId, { kind: 'exit_request', at });
        this.visitStep({ kind: 'exit_request', at, doorId });
      }
    });
  }

  private step(doorId: string, event: DoorEvent): void {
    const rt = this.doors.get(doorId)!;
    const { state, actions } = stepDoor(rt.state, event, rt.cfg);
    rt.state = state;
    this.perform(rt, event.at, actions);
    this.arm(rt);
  }

  private perform(rt: DoorRuntime, at: number, actions: DoorAction[]): void {
    const doorId = rt.cfg.id;
    for (const a of actions) {
      switch (a.kind) {
        case 'lock':
          this.board.write(rt.pins.lock, lockOutputLevel(rt.cfg.lock, a.locked));
          break;
        case 'buzzer':
          if (rt.cfg.buzzer) this.board.write(rt.pins.buzzer, a.on);
          break;
        case 'record': {
          const row = this.write({ type: a.type, at, door: doorId, data: a.data });
          if (row && a.type === 'door_opened') {
            const d = a.data as { authorized: boolean; initial?: boolean };
            this.visitStep({ kind: 'door_opened', at, doorId, authorized: d.authorized, initial: d.initial });
          } else if (row && (a.type === 'door_closed' || a.type === 'door_locked')) {
            this.visitStep({ kind: 'tick', at });
          }
          break;
        }
        case 'alarm_raise':
          this.raiseAlarm(a.alarm, a.severity, doorId, a.detail, at);
          break;
        case 'alarm_condition_cleared':
          this.clearAlarmCondition(a.alarm, doorId, at);
          break;
      }
    }
  }

  private arm(rt: DoorRuntime): void {
    if (rt.timer) clearTimeout(rt.timer);
    rt.timer = null;
    if (this.stopped) return;
    const when = nextDeadline(rt.state, rt.cfg);
    if (when === null) return;
    rt.timer = setTimeout(
      () => {
        rt.timer = null;
        this.guard(() => this.step(rt.cfg.id, { kind: 'tick', at: Math.max(this.now(), when) }));
      },
      Math.max(0, when - this.now()),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Alarms

  raiseAlarm(
    alarm: AlarmType,
    severity: AlarmSeverity,
    door: string | null,
    detail: string,
    at: number,
    /** What on the door raised it (a reader id), so that only its return clears the condition. */
    source?: string,
  ): void {
    const data = source === undefined ? { alarm, severity, detail } : { alarm, severity, detail, source };
    this.write({ type: 'alarm_raised', at, door, data });
    this.log.warn(`alarm ${alarm}`, { door, severity, detail });
  }

  private clearAlarmCondition(alarm: AlarmType, door: string | null, at: number, source?: string): void {
    for (const a of alarmsAwaitingClear(this.derived.alarms, alarm, door, undefined, source)) {
      this.write({ type: 'alarm_condition_cleared', at, door, data: { alarmId: a.id } });
    }
  }

  activeAlarms() {
    return listActiveAlarms(this.derived.alarms);
  }

  acknowledgeAlarm(alarmId: number, actor: string, comment: string): boolean {
    const a = this.derived.alarms.active[alarmId];
    if (!a || a.acknowledged) return false;
    return (
      this.write({
        type: 'alarm_acknowledged',
        at: this.now(),
        door: a.door,
        actor,
        data: { alarmId, comment },
      }) !== null
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Readers

  /**
   * A reader's report (stepReader in domain/reader-alarm.ts): its journal row, and the
   * `reader_offline` alarm raised or its condition cleared. Every flood episode is recorded; a flood
   * incident (floods within the byte budget's quietMs of each other) raises one alarm, whose
   * condition clears only once the incident has settled with the reader online.
   */
  private onReaderReport(readerId: string, report: ReaderReport): void {
    const step = stepReader(readerId, this.readerState.get(readerId), report);
    this.readerState.set(readerId, step.state);
    if (!step.record && !step.alarm) return;
    const at = this.now();
    const door = this.readerDoor.get(readerId)?.doorId ?? null;
    if (step.record) this.write({ type: step.record.type, at, door, data: step.record.data });
    if (step.alarm?.action === 'clear') this.clearAlarmCondition('reader_offline', door, at, readerId);
    else if (step.alarm?.action === 'raise')
      this.raiseAlarm(
        'reader_offline',
        alarmSeverity('reader_offline'),
        door,
        step.alarm.detail,
        at,
        readerId,
      );
  }

  private onReaderTamper(readerId: string, active: boolean): void {
    const at = this.now();
    const door = this.readerDoor.get(readerId)?.doorId ?? null;
    if (active)
      this.raiseAlarm(
        'reader_tamper',
        alarmSeverity('reader_tamper'),
        door,
        `reader ${readerId} case opened`,
        at,
        readerId,
      );
    else this.clearAlarmCondition('reader_tamper', door, at, readerId);
  }

  // ---------------------------------------------------------------------------------------------
  // Administration

  setMode(doorId: string, mode: DoorMode, actor: string): void {
    if (!this.doors.has(doorId)) throw new Error(`no door ${doorId}`);
    const at = this.now();
    if (this.write({ type: 'mode_changed', at, door: doorId, actor, data: { mode } }) === null)
      throw new Error('the journal cannot be written; mode not changed');
    this.step(doorId, { kind: 'mode', mode, at });
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
    const { failed } = this.visitStep({
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
    const rc = this.config.readers.find((r) => r.id === readerId);
    if (!rc) throw new Error(`no reader ${readerId}`);
    return this.handleBadge({ readerId, credential, format, at: this.now() });
  }

  onRow(listener: (row: JournalRow) => void): void {
    this.rowListeners.push(listener);
  }

  /**
   * For writers of many batches into the database (the dashboard's log index): awaited between two
   * batches, it checkpoints the write-ahead log when the latest checkpoint is 100 ms old, so that the
   * log stays small and each checkpoint short (WalCheckpointer.room).
   */
  walRoom(): Promise<void> {
    return this.walCheckpointer?.room() ?? Promise.resolve();
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

  /** What the MQTT publisher shows of each door. Cheap: no I/O. */
  private doorSnapshots(): DoorSnapshot[] {
    return [...this.doors.values()].map((rt) => ({
      id: rt.cfg.id,
      name: rt.cfg.name,
      locked: rt.state.lock === 'locked',
      contact: rt.state.contact,
      mode: doorMode(this.derived, rt.cfg.id),
      occupancy: whoIsInside(this.derived, rt.cfg.id).length,
    }));
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
        storageOk: this.storageOk,
        pendingWrites: this.pending.length,
        walCheckpoints: this.walCheckpoints(),
      },
      clockSynced: clockSynchronised(),
      doors: [...this.doors.values()].map((rt) => ({
        id: rt.cfg.id,
        name: rt.cfg.name,
        locked: rt.state.lock === 'locked',
        contact: rt.state.contact,
        mode: doorMode(this.derived, rt.cfg.id),
        lockOutput: this.board.readOutput(rt.pins.lock),
        occupants: whoIsInside(this.derived, rt.cfg.id).map((o) => ({
          personId: o.personId,
          since: o.since,
        })),
      })),
      readers: this.config.readers.map((r) => {
        const s = this.readerState.get(r.id);
        return { id: r.id, online: s?.online ?? false, reason: s?.reason ?? 'unknown' };
      }),
      alarms: this.activeAlarms(),
      mqtt: this.mqtt?.status() ?? MQTT_NOT_CONFIGURED,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Journal writes

  /**
   * Append one record durably and fold it into the derived state. On a storage fault the record is
   * queued (in order) and retried; null is returned so the caller does not act on an unrecorded fact.
   */
  private write(input: JournalInput): JournalRow | null {
    if (this.pending.length > 0) {
      this.pending.push(input);
      this.flushPending();
      return null;
    }
    try {
      const queued = this.queuesForMqtt(input.type);
      const row = this.journal.append(input, { outbox: queued });
      this.afterCommit(row, queued);
      return row;
    } catch (err) {
      this.pending.push(input);
      this.storageFault(err);
      return null;
    }
  }

  /** Whether a row gets an outbox row: with MQTT configured, unless the backlog is full (docs/mqtt.md). */
  private queuesForMqtt(type: string): boolean {
    return this.mqtt?.accepts(type) ?? false;
  }

  private afterCommit(row: JournalRow, queued: boolean): void {
    // Rows appended by other writers (the CLI, the registry, the dashboard) since the last fold
    // matter to the derived state too: fold every row up to this one, in order.
    if (row.seq > this.derived.lastSeq + 1)
      this.derived = foldRows(this.derived, this.journal.iterate(this.derived.lastSeq + 1));
    else this.derived = foldRow(this.derived, row);
    // The publisher only counts and schedules here (its own rows are written later, never inline):
    // its backlog must be exact for the next row's accepts().
    try {
      this.mqtt?.committed(row, queued);
    } catch (err) {
      this.log.error('mqtt notification failed', { error: String(err) });
    }
    // The row listeners (the live dashboard) hear of the row after the current step — after the lock
    // has moved — so nothing they do sits on the door's path.
    this.announce.push(row);
    if (this.announce.length === 1) queueMicrotask(() => this.flushAnnouncements());
  }

  private flushAnnouncements(): void {
    for (const row of this.announce.splice(0)) {
      for (const l of this.rowListeners) {
        try {
          l(row);
        } catch (err) {
          this.log.error('row listener failed', { error: String(err) });
        }
      }
    }
  }

  private storageFault(err: unknown): void {
    if (this.storageOk) {
      this.storageOk = false;
      this.log.error('journal write failed: doors stay secured until storage recovers', {
        error: String(err),
      });
    }
    this.secureAll();
    if (!this.retryTimer && !this.stopped) {
      this.retryTimer = setInterval(() => this.flushPending(), 2000);
      this.retryTimer.unref();
    }
  }

  private flushPending(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      try {
        const queued = this.queuesForMqtt(next.type);
        const row = this.journal.append(next, { outbox: queued });
        this.pending.shift();
        this.afterCommit(row, queued);
      } catch (err) {
        this.storageFault(err);
        return;
      }
    }
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    if (!this.storageOk) {
      this.storageOk = true;
      this.log.info('journal writable again; queued records written');
      const at = this.now();
      this.raiseAlarm(
        'storage_fault',
        alarmSeverity('storage_fault'),
        null,
        'journal writes failed; records were queued and written on recovery',
        at,
      );
      this.clearAlarmCondition('storage_fault', null, at);
    }
  }

  checkpoint(): void {
    const head = this.journal.head();
    if (head.seq === 0 || head.seq === this.lastCheckpointSeq) return;
    const cp = this.journal.checkpoint(this.now(), this.secrets.signingKey, this.secrets.keyId);
    this.lastCheckpointSeq = head.seq;
    this.mqtt?.checkpointed();
    // A snapshot of the derived state for the same head, only if the state is exactly at it.
    if (this.derived.lastSeq !== cp.seq || this.pending.length > 0) return;
    try {
      const state = JSON.stringify(snapshotDerivedState(this.derived));
      const { signingKey, keyId } = this.secrets;
      saveSnapshot(this.db, { seq: cp.seq, hash: cp.hash, at: this.now(), state }, signingKey, keyId);
    } catch (err) {
      this.log.warn('could not save a derived-state snapshot', { seq: cp.seq, error: String(err) });
    }
  }

  /** The derived state at start: the latest good signed snapshot plus the rows after it, else a full fold. */
  private rebuildDerived(): DerivedState {
    const { snapshot, rejected } = loadLatestSnapshot(this.db, this.secrets.publicKey);
    for (const r of rejected)
      this.log.warn('derived-state snapshot rejected', { seq: r.seq, reason: r.reason });
    if (snapshot) {
      try {
        const restored = restoreDerivedState(JSON.parse(snapshot.state));
        if (restored.lastSeq !== snapshot.seq) throw new Error(`state is at seq ${restored.lastSeq}`);
        const derived = foldRows(restored, this.journal.iterate(snapshot.seq + 1));
        this.log.info(
          `derived state from snapshot at seq ${snapshot.seq} (+${derived.lastSeq - snapshot.seq} rows)`,
        );
        return derived;
      } catch (err) {
        this.log.warn('derived-state snapshot unusable; folding the whole journal', {
          seq: snapshot.seq,
          error: String(err),
        });
      }
    }
    const derived = foldRows(initialDerivedState(), this.journal.iterate(1));
    this.log.info(`derived state from a full fold (${derived.lastSeq} rows)`);
    return derived;
  }

  // ---------------------------------------------------------------------------------------------
  // Safety and shutdown

  /** Drive every lock output to "secured". Synchronous and never throws. */
  secureAll(): void {
    for (const rt of this.doors.values()) {
      try {
        this.board.write(rt.pins.lock, lockOutputLevel(rt.cfg.lock, true));
        if (rt.cfg.buzzer) this.board.write(rt.pins.buzzer, false);
      } catch {
        // keep going: every other door must still be secured
      }
    }
  }

  /** Run a handler; any failure secures the doors and is logged instead of crashing the process. */
  private guard(fn: () => void): void {
    try {
      fn();
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
    for (const rt of this.doors.values()) if (rt.timer) clearTimeout(rt.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.visitTimer) clearTimeout(this.visitTimer);
    if (this.retryTimer) clearInterval(this.retryTimer);
    await Promise.all([...this.readers.values()].map((r) => r.stop()));
    const at = this.now();
    try {
      this.flushPending();
      for (const rt of this.doors.values())
        if (rt.state.lock !== 'locked')
          this.write({ type: 'door_locked', at, door: rt.cfg.id, data: { cause: 'shutdown' } });
      this.write({ type: 'controller_stopped', at, data: { reason } });
      this.checkpoint();
    } catch (err) {
      this.log.error('could not record the stop', { error: String(err) });
    }
    try {
      this.board.close(secureLevels(this.config.doors));
    } catch (err) {
      this.log.error('closing the board failed', { error: String(err) });
    }
    this.flushAnnouncements();
    // Deliver what is left (bounded wait), publish "offline" and disconnect; the rest stays queued.
    await this.mqtt
      ?.stop()
      .catch((err: unknown) => this.log.error('mqtt stop failed', { error: String(err) }));
    await this.walCheckpointer?.stop();
    this.db.close();
  }
}
