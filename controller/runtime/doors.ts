/**
 * The doors: one state machine per door (domain `stepDoor`), fed by the board's inputs (contact,
 * tamper, exit button), by grants and mode changes, and by its own timers; its actions drive the
 * lock and buzzer outputs and become journal rows and alarms.
 */

import { type Board, type DoorPinNames, doorPinNames, lockOutputLevel } from '../../hardware/index.js';
import type { Config, DoorConfig } from '../config/index.js';
import {
  type Direction,
  type DoorAction,
  type DoorEvent,
  type DoorMode,
  type DoorState,
  doorMode,
  initialDoorState,
  nextDeadline,
  openConditions,
  recordOf,
  shiftDoorState,
  stepDoor,
  type VisitEvent,
  whoIsInside,
} from '../domain/index.js';
import type { JournalInput, JournalRow } from '../journal/index.js';
import type { DoorSnapshot } from '../mqtt/index.js';
import type { Derived } from './derived.js';
import type { Guard, Part } from './part.js';
import type { CommitOutcome, Writer } from './writer.js';

export interface DoorStatus {
  id: string;
  name: string;
  locked: boolean;
  contact: 'open' | 'closed' | 'unknown';
  mode: DoorMode;
  lockOutput: boolean;
  occupants: { personId: string; since: number }[];
}

interface DoorRuntime {
  cfg: DoorConfig;
  state: DoorState;
  timer: NodeJS.Timeout | null;
  pins: DoorPinNames;
}

export interface DoorsDeps {
  config: Config;
  board: Board;
  derived: Derived;
  writer: Writer;
  now: () => number;
  guard: Guard;
  /** When the machines start (they start locked). */
  startedAt: number;
  /** Feeds the visit rules a door event (door opened, closed or locked; exit request). */
  visitStep: (event: VisitEvent) => void;
  /** Runs before each door event: the clock's step check (runtime/clock.ts). */
  beforeStep?: () => void;
}

export class Doors implements Part {
  private readonly doors = new Map<string, DoorRuntime>();
  /** The door and direction each reader serves. */
  private readonly readerDoor = new Map<string, { doorId: string; direction: Direction }>();
  private stopped = false;
  /** Set by hold(): the inputs are no longer acted on and no lock is released. */
  private held = false;

  constructor(private readonly d: DoorsDeps) {
    // Door machines start locked, in the journal's mode, knowing which alarm conditions were open.
    for (const door of d.config.doors) {
      this.doors.set(door.id, {
        cfg: door,
        state: initialDoorState(d.startedAt, undefined, {
          mode: doorMode(d.derived.current, door.id),
          openConditions: openConditions(d.derived.current.alarms, door.id),
        }),
        timer: null,
        pins: doorPinNames(door.id),
      });
      this.readerDoor.set(door.entryReader, { doorId: door.id, direction: 'in' });
      if (door.exitReader) this.readerDoor.set(door.exitReader, { doorId: door.id, direction: 'out' });
    }
  }

  start(): void {
    // Input levels (the first one included) arrive through the board's debounce timers, after this.
    this.d.board.onInput((name, active, when) => this.onInput(name, active, when));
  }

  stop(): void {
    this.stopped = true;
    for (const rt of this.doors.values()) if (rt.timer) clearTimeout(rt.timer);
  }

  has(doorId: string): boolean {
    return this.doors.has(doorId);
  }

  /** The door and direction a reader serves, if any. */
  served(readerId: string): { doorId: string; direction: Direction } | undefined {
    return this.readerDoor.get(readerId);
  }

  /** The doors whose machine is not locked (at stop, each gets a `door_locked` row). */
  notLocked(): string[] {
    const ids: string[] = [];
    for (const rt of this.doors.values()) if (rt.state.lock !== 'locked') ids.push(rt.cfg.id);
    return ids;
  }

  /**
   * From now on no lock is released and the inputs are ignored (a power failure: the process is
   * about to stop, and the stop records each door locked).
   */
  hold(): void {
    this.held = true;
  }

  /** Drive every lock output to "secured". Synchronous and never throws. */
  secureAll(): void {
    for (const rt of this.doors.values()) {
      try {
        this.d.board.write(rt.pins.lock, lockOutputLevel(rt.cfg.lock, true));
        if (rt.cfg.buzzer) this.d.board.write(rt.pins.buzzer, false);
      } catch {
        // keep going: every other door must still be secured
      }
    }
  }

  /**
   * Feed a door's machine one event and perform its actions, then arm its next deadline. Returns
   * whether its rows were committed; the committed ones are pushed onto `committed`.
   *
   * A step that releases a lock, or follows `lead` (the rows of the event that justify it: a grant's
   * access rows, an exit request), commits `lead` and its own rows first — durably, with every row of
   * the event before them — and acts only then: a grant's row is on stable storage before the lock
   * moves. If that commit fails nothing of the step happens (the door stays secured, its machine
   * where it was) and its own rows are not queued: they describe what did not happen; `lead` is.
   * Any other step acts first (securing a door never waits for a flush) and its rows join the event's
   * transaction (Writer.event).
   */
  step(
    doorId: string,
    event: DoorEvent,
    lead: readonly JournalInput[] = [],
    committed?: JournalRow[],
  ): CommitOutcome {
    this.d.beforeStep?.();
    const rt = this.doors.get(doorId)!;
    const { state, actions } = stepDoor(rt.state, event, rt.cfg);
    let outcome: CommitOutcome = 'committed';
    const releases = !this.held && actions.some((a) => a.kind === 'lock' && !a.locked);
    if (releases || lead.length > 0) {
      outcome = this.d.writer.commit(lead, committed, {
        consequences: this.rowsOf(rt, event.at, actions),
        durable: true,
      });
      if (outcome === 'committed') {
        rt.state = state;
        this.perform(rt, event.at, actions, false);
      }
    } else {
      rt.state = state;
      this.perform(rt, event.at, actions, true);
    }
    this.arm(rt);
    return outcome;
  }

  /**
   * The wall clock stepped: each door's running deadlines (unlock end, held-open timer) move into
   * the new time and its timer is armed again (domain/clock.ts).
   */
  clockStepped(stepMs: number): void {
    for (const rt of this.doors.values()) {
      rt.state = shiftDoorState(rt.state, stepMs);
      this.arm(rt);
    }
  }

  /** What the MQTT publisher shows of each door. Cheap: no I/O. */
  snapshots(): DoorSnapshot[] {
    return [...this.doors.values()].map((rt) => ({
      ...this.seen(rt),
      occupancy: whoIsInside(this.d.derived.current, rt.cfg.id).length,
    }));
  }

  status(): DoorStatus[] {
    return [...this.doors.values()].map((rt) => ({
      ...this.seen(rt),
      lockOutput: this.d.board.readOutput(rt.pins.lock),
      occupants: whoIsInside(this.d.derived.current, rt.cfg.id).map((o) => ({
        personId: o.personId,
        since: o.since,
      })),
    }));
  }

  /** A door as both its snapshot and its status begin (in this key order: the payloads show it). */
  private seen(rt: DoorRuntime) {
    return {
      id: rt.cfg.id,
      name: rt.cfg.name,
      locked: rt.state.lock === 'locked',
      contact: rt.state.contact,
      mode: doorMode(this.d.derived.current, rt.cfg.id),
    };
  }

  private onInput(name: string, active: boolean, at: number): void {
    if (this.held) return;
    this.d.guard(() => {
      const dot = name.lastIndexOf('.');
      const doorId = name.slice(0, dot);
      const role = name.slice(dot + 1);
      if (!this.doors.has(doorId)) return;
      if (role === 'contact') this.step(doorId, { kind: 'contact', open: active, at });
      else if (role === 'tamper') this.step(doorId, { kind: 'tamper', active, at });
      else if (role === 'exitButton' && active) {
        const request: JournalInput = { type: 'exit_request', at, door: doorId, data: {} };
        if (this.step(doorId, { kind: 'exit_request', at }, [request]) !== 'committed') return;
        this.d.visitStep({ kind: 'exit_request', at, doorId });
      }
    });
  }

  /** The rows of a releasing step's actions, in order (committed before it acts). */
  private rowsOf(rt: DoorRuntime, at: number, actions: readonly DoorAction[]): JournalInput[] {
    const door = rt.cfg.id;
    const rows: JournalInput[] = [];
    for (const a of actions) {
      if (a.kind === 'record') rows.push({ ...recordOf(a.type, a.data), at, door });
      else if (a.kind === 'alarm_raise')
        rows.push(this.d.writer.raisedRow(a.alarm, a.severity, door, a.detail, at));
      else if (a.kind === 'alarm_condition_cleared') rows.push(...this.d.writer.clearRows(a.alarm, door, at));
    }
    return rows;
  }

  /**
   * Performs a step's actions in order. `write`: its rows are committed here (joining the event's
   * transaction); otherwise they were committed before (rowsOf) and only what follows them runs.
   */
  private perform(rt: DoorRuntime, at: number, actions: DoorAction[], write: boolean): void {
    const doorId = rt.cfg.id;
    const { board, writer } = this.d;
    for (const a of actions) {
      switch (a.kind) {
        case 'lock':
          if (this.held && !a.locked) break;
          board.write(rt.pins.lock, lockOutputLevel(rt.cfg.lock, a.locked));
          break;
        case 'buzzer':
          if (rt.cfg.buzzer) board.write(rt.pins.buzzer, a.on);
          break;
        case 'record': {
          const committed =
            !write || writer.commit([{ ...recordOf(a.type, a.data), at, door: doorId }]) === 'committed';
          if (committed && a.type === 'door_opened') {
            const d = a.data;
            this.d.visitStep({
              kind: 'door_opened',
              at,
              doorId,
              authorized: d.authorized,
              initial: d.initial,
            });
          } else if (committed && (a.type === 'door_closed' || a.type === 'door_locked')) {
            this.d.visitStep({ kind: 'tick', at });
          }
          break;
        }
        case 'alarm_raise':
          if (write) writer.raiseAlarm(a.alarm, a.severity, doorId, a.detail, at);
          break;
        case 'alarm_condition_cleared':
          if (write) writer.clearAlarmCondition(a.alarm, doorId, at);
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
        this.d.guard(() => this.step(rt.cfg.id, { kind: 'tick', at: Math.max(this.d.now(), when) }));
      },
      Math.max(0, when - this.d.now()),
    );
  }
}
