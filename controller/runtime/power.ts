/**
 * The power-fail input (policy §7(3)³, docs/operations.md "Power failure"): reads the UPS — its
 * contacts on the board, or upsd over NUT's protocol — and feeds the pure rules (domain/power.ts).
 * Their actions become rows and alarms through the writer; the shutdown decision secures every door,
 * journals `power_failing` and hands over to the process root (`onFailing`), which stops cleanly.
 */
import { type Board, POWER_PIN_NAMES } from '../../hardware/index.js';
import type { PowerConfig } from '../config/index.js';
import {
  alarmSeverity,
  alarmsAwaitingClear,
  gpioReading,
  initialPowerState,
  type PowerAction,
  type PowerEvent,
  type PowerReading,
  type PowerSettings,
  type PowerState,
  parseUpsStatus,
  powerDeadline,
  printable,
  stepPower,
} from '../domain/index.js';
import type { Logger } from '../log.js';
import { type NutConnection, NutError } from '../power/nut.js';
import { nutConnection } from '../power/password.js';
import type { Derived } from './derived.js';
import type { Guard, Part } from './part.js';
import type { Writer } from './writer.js';

/** What the process root is told when the controller must shut down for a power failure. */
export interface PowerFailing {
  reason: string;
  status: string;
  secondsOnBattery: number;
}

export interface PowerDeps {
  config: PowerConfig;
  board: Board;
  writer: Writer;
  derived: Derived;
  now: () => number;
  guard: Guard;
  log: Logger;
  secureAll: () => void;
  onFailing: (failing: PowerFailing) => void;
}

export interface PowerStatus {
  source: 'gpio' | 'nut';
  status: string | null;
  onBattery: boolean;
  failing: boolean;
  /** NUT: whether upsd answers. */
  monitorOk: boolean | null;
}

export class PowerMonitor implements Part {
  private state: PowerState;
  private readonly settings: PowerSettings;
  private timer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private connection: NutConnection | null = null;
  private stopped = false;
  private polling = false;
  /** Since when upsd's status has said nothing about the mains (e.g. WAIT), or null. */
  private unknownSince: number | null = null;

  constructor(private readonly d: PowerDeps) {
    const { config } = d;
    this.settings = {
      source: config.nut ? 'nut' : 'gpio',
      graceS: config.graceS,
      onLost: config.nut?.onLost ?? 'report',
    };
    const open = alarmsAwaitingClear(d.derived.current.alarms, 'power_failure', null).length > 0;
    this.state = initialPowerState(open);
  }

  start(): void {
    const { config, board } = this.d;
    if (config.gpio) {
      const names = new Set<string>([POWER_PIN_NAMES.onBattery, POWER_PIN_NAMES.lowBattery]);
      // Each input's first stable level comes through here too (the board reports start levels).
      board.onInput((name, _active, at) => {
        if (!names.has(name) || this.stopped) return;
        this.d.guard(() => this.feed({ kind: 'reading', at, reading: this.gpioNow() }));
      });
    } else if (config.nut) {
      this.schedulePoll(0);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.timer = this.pollTimer = null;
    this.connection?.close();
    this.connection = null;
  }

  status(): PowerStatus {
    return {
      source: this.settings.source,
      status: this.state.status,
      onBattery: this.state.onBattery,
      failing: this.state.failing,
      monitorOk: this.settings.source === 'nut' ? this.state.lostSince === null : null,
    };
  }

  private gpioNow(): PowerReading {
    const { board, config } = this.d;
    const onBattery = board.readInput(POWER_PIN_NAMES.onBattery) ?? false;
    const lowBattery = config.gpio?.lowBattery
      ? (board.readInput(POWER_PIN_NAMES.lowBattery) ?? false)
      : false;
    return gpioReading(onBattery, lowBattery);
  }

  // ---- NUT ----

  private schedulePoll(ms: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, ms);
  }

  private async poll(): Promise<void> {
    const nut = this.d.config.nut!;
    if (this.polling || this.stopped) return;
    this.polling = true;
    let event: PowerEvent;
    try {
      if (!this.connection) {
        const c = nutConnection(nut);
        this.connection = c;
        await c.open();
      }
      const raw = await this.connection.getVar(nut.ups, 'ups.status');
      const reading = parseUpsStatus(raw);
      if ('error' in reading)
        throw new NutError(`upsd at ${this.connection.server}: ${reading.error}`, 'PROTOCOL');
      const at = this.d.now();
      if ('unknown' in reading) {
        // A driver starting up says WAIT for a moment: only a status that stays silent about the
        // mains for the reply timeout counts as a lost link.
        this.unknownSince ??= at;
        if (at - this.unknownSince < nut.timeoutS * 1000) event = { kind: 'tick', at };
        else
          throw new NutError(
            `upsd at ${this.connection.server}: ups.status "${reading.unknown}" says neither OL (on line) nor OB (on battery)`,
            'STATUS',
          );
      } else {
        this.unknownSince = null;
        event = { kind: 'reading', at, reading };
      }
    } catch (err) {
      this.connection?.close();
      this.connection = null;
      const reason = err instanceof Error ? err.message : String(err);
      event = { kind: 'lost', at: this.d.now(), reason: printable(reason, 300) };
    } finally {
      this.polling = false;
    }
    if (this.stopped) return;
    this.d.guard(() => this.feed(event));
    this.schedulePoll(nut.pollS * 1000);
  }

  // ---- the rules and their actions ----

  private feed(event: PowerEvent): void {
    if (this.stopped) return;
    const { state, actions } = stepPower(this.state, event, this.settings);
    this.state = state;
    for (const a of actions) this.perform(a, event.at);
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const when = powerDeadline(this.state, this.settings);
    if (when === null || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.d.guard(() => this.feed({ kind: 'tick', at: Math.max(this.d.now(), when) }));
      },
      Math.max(0, when - this.d.now()),
    );
  }

  private perform(a: PowerAction, at: number): void {
    const { writer, config, log } = this.d;
    const source = this.settings.source;
    const nut = config.nut;
    const server = nut ? `${nut.host.includes(':') ? `[${nut.host}]` : nut.host}:${nut.port}` : '';
    switch (a.kind) {
      case 'on_battery':
        writer.commit([
          { type: 'power_on_battery', at, data: { source, status: a.status, graceS: config.graceS } },
        ]);
        writer.raiseAlarm(
          'power_failure',
          alarmSeverity('power_failure'),
          null,
          a.status === 'LOST'
            ? `upsd cannot be read, taken as a power failure: shutting down in ${config.graceS} s unless it answers on line`
            : `the UPS runs on battery (${a.status}): shutting down in ${config.graceS} s unless mains power returns`,
          at,
        );
        break;
      case 'restored':
        writer.commit([
          {
            type: 'power_restored',
            at,
            data: { source, status: a.status, secondsOnBattery: a.secondsOnBattery },
          },
        ]);
        writer.clearAlarmCondition('power_failure', null, at);
        log.info('mains power restored', { status: a.status, secondsOnBattery: a.secondsOnBattery });
        break;
      case 'monitor_lost':
        log.warn("the UPS's status cannot be read", { server, ups: nut?.ups, reason: a.reason });
        writer.commit([
          { type: 'power_monitor_lost', at, data: { server, ups: nut?.ups ?? '', reason: a.reason } },
        ]);
        writer.raiseAlarm(
          'power_monitor_offline',
          alarmSeverity('power_monitor_offline'),
          null,
          `the UPS's status cannot be read: ${a.reason}`,
          at,
        );
        break;
      case 'monitor_restored':
        writer.commit([
          {
            type: 'power_monitor_restored',
            at,
            data: { server, ups: nut?.ups ?? '', status: a.status, secondsLost: a.secondsLost },
          },
        ]);
        writer.clearAlarmCondition('power_monitor_offline', null, at);
        break;
      case 'failing': {
        // The doors first: whatever happens to the rows and the stop, they are secured now.
        this.d.secureAll();
        const command = config.shutdownCommand ? config.shutdownCommand.join(' ') : null;
        writer.commit([
          {
            type: 'power_failing',
            at,
            data: {
              source,
              status: a.status,
              reason: a.reason,
              secondsOnBattery: a.secondsOnBattery,
              shutdownCommand: command,
            },
          },
        ]);
        log.error('power failing: doors secured, shutting down', {
          reason: a.reason,
          status: a.status,
          secondsOnBattery: a.secondsOnBattery,
        });
        this.d.onFailing({ reason: a.reason, status: a.status, secondsOnBattery: a.secondsOnBattery });
        break;
      }
    }
  }
}
