/**
 * The composition root: builds the parts from the config, wires them, starts and stops them in order.
 *
 * The critical path is synchronous: badge read → decision → journal row committed → lock output.
 * Nothing else (HTTP, MQTT, metrics) sits on it.
 */

import type Database from 'better-sqlite3';
import { ReaderPort } from '../firmware-bridge/index.js';
import {
  type Board,
  claimDoorPins,
  createBoard,
  type DoorPinNames,
  doorPinNames,
  lockOutputLevel,
  secureLevels,
} from '../hardware/index.js';
import type { LoadedConfig } from './config/index.js';
import { ALWAYS_SCHEDULE, type Config, type DoorConfig, type ScheduleConfig } from './config/index.js';
import {
  type AlarmSeverity,
  type AlarmType,
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
  openConditions,
  stepDoor,
  whoIsInside,
} from './domain/index.js';
import type { DeviceSecrets, Journal, JournalInput, JournalRow, Registry } from './journal/index.js';
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
  journal: { headSeq: number; headHash: string; storageOk: boolean; pendingWrites: number };
  clockSynced: boolean | null;
  doors: DoorStatus[];
  readers: { id: string; online: boolean; reason: string }[];
  alarms: ReturnType<Controller['activeAlarms']>;
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
  derived: DerivedState;
  readonly startedAt: number;
  private readonly doors = new Map<string, DoorRuntime>();
  private readonly readerDoor = new Map<string, { doorId: string; direction: Direction }>();
  private readonly readers = new Map<string, ReaderPort>();
  private readonly readerState = new Map<string, { online: boolean; reason: string }>();
  private readonly schedules: ScheduleConfig[];
  /** Records that could not be written (storage fault); retried in order, never dropped. */
  private readonly pending: JournalInput[] = [];
  private storageOk = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private lastCheckpointSeq = 0;
  private stopped = false;
  private readonly rowListeners: ((row: JournalRow) => void)[] = [];

  private constructor(opts: ControllerOptions) {
    const { config, storageDir } = opts.loaded;
    this.config = config;
    this.storageDir = storageDir;
    this.log = opts.log ?? createLogger();
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.schedules = [ALWAYS_SCHEDULE, ...config.schedules.filter((s) => s.id !== ALWAYS_SCHEDULE.id)];

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
    this.derived = foldRows(initialDerivedState(), this.journal.iterate(1));
    // Door machines start locked, in the journal's mode, knowing which alarm conditions were open.
    for (const rt of this.doors.values()) {
      rt.state = initialDoorState(this.startedAt, undefined, {
        mode: doorMode(this.derived, rt.cfg.id),
        openConditions: openConditions(this.derived.alarms, rt.cfg.id),
      });
    }
  }

  static async start(opts: ControllerOptions): Promise<Controller> {
    const c = new Controller(opts);
    try {
      c.begin();
    } catch (err) {
      c.secureAll();
      throw err;
    }
    return c;
  }

  private begin(): void {
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
      this.readerState.set(rc.id, { online: false, reason: 'starting' });
      const port = new ReaderPort(rc, { now: this.now });
      port.on('badge', (read: BadgeRead) => this.guard(() => this.handleBadge(read)));
      port.on('status', (s: { readerId: string; online: boolean; reason: string }) =>
        this.guard(() => this.onReaderStatus(s.readerId, s.online, s.reason)),
      );
      port.on('tamper', (t: { readerId: string; active: boolean }) =>
        this.guard(() => this.onReaderTamper(t.readerId, t.active)),
      );
      this.readers.set(rc.id, port);
      port.start();
    }
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
    const input: JournalInput = {
      type: 'access',
      at: read.at,
      door: doorId,
      person: person?.id ?? null,
      data: {
        reader: read.readerId,
        direction,
        result: decision.granted ? 'granted' : 'denied',
        reason: decision.reason,
        badge: badge?.id ?? null,
        masked: badge?.masked ?? maskUnknown(read.credential),
        format: read.format,
        personName: person?.name ?? null,
        category: person?.category ?? null,
      },
    };
    const row = this.write(input);
    if (row === null) {
      // Not recorded → not opened. The queued record says what really happened: refused, storage down.
      input.data.result = 'denied';
      input.data.reason = 'storage_unavailable';
      input.data.decided = decision.reason;
      this.log.error('access row could not be committed; door stays locked', { door: doorId });
      return { decision: { granted: false, reason: 'storage_unavailable' }, row: null, doorId, direction };
    }
    if (decision.granted) this.step(doorId, { kind: 'grant', at: read.at });
    return { decision, row, doorId, direction };
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
        case 'record':
          this.write({ type: a.type, at, door: doorId, data: a.data });
          break;
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
  ): void {
    this.write({ type: 'alarm_raised', at, door, data: { alarm, severity, detail } });
    this.log.warn(`alarm ${alarm}`, { door, severity, detail });
  }

  private clearAlarmCondition(alarm: AlarmType, door: string | null, at: number): void {
    for (const a of alarmsAwaitingClear(this.derived.alarms, alarm, door)) {
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

  private onReaderStatus(readerId: string, online: boolean, reason: string): void {
    const prev = this.readerState.get(readerId);
    this.readerState.set(readerId, { online, reason });
    if (prev && prev.online === online && prev.reason !== 'starting') return;
    const at = this.now();
    const door = this.readerDoor.get(readerId)?.doorId ?? null;
    this.write({
      type: online ? 'reader_online' : 'reader_offline',
      at,
      door,
      data: { reader: readerId, reason },
    });
    if (!online) this.raiseAlarm('reader_offline', 'major', door, `reader ${readerId}: ${reason}`, at);
    else this.clearAlarmCondition('reader_offline', door, at);
  }

  private onReaderTamper(readerId: string, active: boolean): void {
    const at = this.now();
    const door = this.readerDoor.get(readerId)?.doorId ?? null;
    if (active) this.raiseAlarm('reader_tamper', 'critical', door, `reader ${readerId} case opened`, at);
    else this.clearAlarmCondition('reader_tamper', door, at);
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

  /** Feed a simulated reader (simulation mode; the same path as a serial frame). */
  simulateBadge(readerId: string, credential: string, format = 'em4100'): AccessOutcome {
    const rc = this.config.readers.find((r) => r.id === readerId);
    if (!rc) throw new Error(`no reader ${readerId}`);
    return this.handleBadge({ readerId, credential, format, at: this.now() });
  }

  onRow(listener: (row: JournalRow) => void): void {
    this.rowListeners.push(listener);
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
      readers: this.config.readers.map((r) => ({
        id: r.id,
        ...(this.readerState.get(r.id) ?? { online: false, reason: 'unknown' }),
      })),
      alarms: this.activeAlarms(),
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
      const row = this.journal.append(input, { outbox: this.config.mqtt !== undefined });
      this.afterCommit(row);
      return row;
    } catch (err) {
      this.pending.push(input);
      this.storageFault(err);
      return null;
    }
  }

  private afterCommit(row: JournalRow): void {
    this.derived = foldRow(this.derived, row);
    for (const l of this.rowListeners) {
      try {
        l(row);
      } catch (err) {
        this.log.error('row listener failed', { error: String(err) });
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
        const row = this.journal.append(next, { outbox: this.config.mqtt !== undefined });
        this.pending.shift();
        this.afterCommit(row);
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
        'critical',
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
    this.journal.checkpoint(this.now(), this.secrets.signingKey, this.secrets.keyId);
    this.lastCheckpointSeq = head.seq;
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
    this.db.close();
  }
}

/** An unknown credential is shown like a known one: only its last four characters. */
function maskUnknown(credential: string): string {
  return `••••${credential.slice(-4)}`;
}
