/**
 * The badge readers: one supervised serial port each (firmware-bridge `ReaderPort`), whose badges go
 * to the critical path and whose reports (online, offline, flood, tamper) become journal rows and the
 * `reader_offline` and `reader_tamper` alarms (domain `stepReader`). A bridge board's firmware
 * version (its `hello`) is journaled when first heard and when it changes (`reader_firmware`).
 */

import { type HelloEvent, ReaderPort, type ReaderStatus } from '../../firmware-bridge/index.js';
import type { Config } from '../config/index.js';
import {
  alarmSeverity,
  type BadgeRead,
  READER_STARTING,
  type ReaderCondition,
  type ReaderReport,
  stepReader,
} from '../domain/index.js';
import type { Doors } from './doors.js';
import type { Guard, Part } from './part.js';
import type { Writer } from './writer.js';

export interface ReadersDeps {
  config: Config;
  doors: Doors;
  writer: Writer;
  now: () => number;
  guard: Guard;
  /** The critical path: decide a badge read, commit its rows, drive the door (the Controller). */
  access: { handleBadge(read: BadgeRead): unknown };
  /** The latest firmware version journaled for each reader (read once, at start). */
  journaledFirmware?: () => ReadonlyMap<string, string>;
}

/** What `/api/status` says of a reader (docs/api.md lists every reason). */
export interface ReaderStatusView {
  id: string;
  online: boolean;
  reason: string;
  /** The bridge board's firmware, as its latest hello said (journaled); null: none heard. */
  firmware: string | null;
}

/** A port open, its bridge board not heard yet (ReaderPort's own word for it). */
const PORT_WAITING = 'waiting';

export class Readers implements Part {
  private readonly ports = new Map<string, ReaderPort>();
  private readonly state = new Map<string, ReaderCondition>();
  /** reader id → firmware version last journaled (from the journal at start, then as heard). */
  private firmware = new Map<string, string>();

  constructor(private readonly d: ReadersDeps) {}

  start(): void {
    const { guard, access } = this.d;
    this.firmware = new Map(this.d.journaledFirmware?.() ?? []);
    for (const rc of this.d.config.readers) {
      if (rc.path === 'sim') {
        this.state.set(rc.id, { online: true, reason: 'simulated' });
        continue;
      }
      this.state.set(rc.id, { online: false, reason: READER_STARTING });
      const port = new ReaderPort(rc, { now: this.d.now });
      port.on('badge', (read: BadgeRead) => guard(() => access.handleBadge(read)));
      port.on('status', (s: ReaderStatus) =>
        guard(() =>
          this.onReport(s.readerId, {
            kind: 'status',
            online: s.online,
            reason: s.reason,
            ...(s.flood && { flood: s.flood }),
          }),
        ),
      );
      port.on('hello', (h: HelloEvent) => guard(() => this.onHello(h)));
      port.on('floodSettled', (e) => guard(() => this.onReport(e.readerId, { kind: 'flood-settled' })));
      port.on('tamper', (t: { readerId: string; active: boolean }) =>
        guard(() => this.onTamper(t.readerId, t.active)),
      );
      this.ports.set(rc.id, port);
      port.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.ports.values()].map((r) => r.stop()));
  }

  /** Whether a reader is receiving a frame right now (the WAL checkpoint waits for it). */
  receiving(): boolean {
    for (const r of this.ports.values()) if (r.receiving()) return true;
    return false;
  }

  status(): ReaderStatusView[] {
    return this.d.config.readers.map((r) => {
      const s = this.state.get(r.id);
      let reason = s?.reason ?? READER_STARTING;
      // Reopened (or first opened), the board not heard yet: the port knows more than the last report.
      if (s && !s.online && !s.flood && this.ports.get(r.id)?.status().reason === PORT_WAITING)
        reason = PORT_WAITING;
      return { id: r.id, online: s?.online ?? false, reason, firmware: this.firmware.get(r.id) ?? null };
    });
  }

  /** A bridge board's hello: journal its firmware the first time, and when it differs from the last. */
  private onHello(h: HelloEvent): void {
    const previous = this.firmware.get(h.readerId) ?? null;
    if (previous === h.firmware) return;
    this.firmware.set(h.readerId, h.firmware);
    const door = this.d.doors.served(h.readerId)?.doorId ?? null;
    this.d.writer.commit([
      {
        type: 'reader_firmware',
        at: this.d.now(),
        door,
        data: { reader: h.readerId, firmware: h.firmware, protocol: h.protocol, previous },
      },
    ]);
  }

  /**
   * A reader's report (stepReader in domain/reader-alarm.ts): its journal row, and the
   * `reader_offline` alarm raised or its condition cleared. Every flood episode is recorded; a flood
   * incident (floods within the byte budget's quietMs of each other) raises one alarm, whose
   * condition clears only once the incident has settled with the reader online.
   */
  private onReport(readerId: string, report: ReaderReport): void {
    const step = stepReader(readerId, this.state.get(readerId), report);
    this.state.set(readerId, step.state);
    if (!step.record && !step.alarm) return;
    const { writer } = this.d;
    const at = this.d.now();
    const door = this.d.doors.served(readerId)?.doorId ?? null;
    if (step.record) writer.commit([{ type: step.record.type, at, door, data: step.record.data }]);
    if (step.alarm?.action === 'clear') writer.clearAlarmCondition('reader_offline', door, at, readerId);
    else if (step.alarm?.action === 'raise')
      writer.raiseAlarm(
        'reader_offline',
        alarmSeverity('reader_offline'),
        door,
        step.alarm.detail,
        at,
        readerId,
      );
  }

  private onTamper(readerId: string, active: boolean): void {
    const { writer } = this.d;
    const at = this.d.now();
    const door = this.d.doors.served(readerId)?.doorId ?? null;
    if (active)
      writer.raiseAlarm(
        'reader_tamper',
        alarmSeverity('reader_tamper'),
        door,
        `reader ${readerId} case opened`,
        at,
        readerId,
      );
    else writer.clearAlarmCondition('reader_tamper', door, at, readerId);
  }
}
