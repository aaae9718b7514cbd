/**
 * The badge readers: one supervised serial port each (firmware-bridge `ReaderPort`), whose badges go
 * to the critical path and whose reports (online, offline, flood, tamper) become journal rows and the
 * `reader_offline` and `reader_tamper` alarms (domain `stepReader`). A bridge board's firmware
 * version (its `hello`) is journaled when first heard and when it changes (`reader_firmware`).
 */

import { type HelloEvent, ReaderPort, type ReaderStatus } from '../../firmware-bridge/index.js';
import {
  type IdentifiedEvent,
  type NakEvent,
  OsdpBus,
  type OsdpFeedback,
} from '../../firmware-bridge/osdp/cp.js';
import type { Config, ReaderConfig } from '../config/index.js';
import {
  alarmSeverity,
  type BadgeRead,
  READER_STARTING,
  type ReaderCondition,
  type ReaderReport,
  stepReader,
} from '../domain/index.js';
import type { JournalInput } from '../journal/index.js';
import type { Logger } from '../log.js';
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
  access: { handleBadge(read: BadgeRead): { decision: { granted: boolean; reason: string } } | unknown };
  /** The latest firmware version journaled for each reader (read once, at start). */
  journaledFirmware?: () => ReadonlyMap<string, string>;
  log?: Pick<Logger, 'warn'>;
  /** The serial number last journaled for an OSDP reader (a swap while the controller was off). */
  lastSerial?: (readerId: string) => string | null;
}

/** The kinds of refusal (command × NAK code) journaled per reader and run. */
const MAX_REFUSALS_JOURNALED = 16;

/** What an OSDP reader shows for a decision (after it is committed). */
export function feedbackFor(outcome: unknown): OsdpFeedback | null {
  const d = (outcome as { decision?: { granted?: unknown; reason?: unknown } } | undefined)?.decision;
  if (!d || typeof d.granted !== 'boolean') return null;
  if (d.granted) return 'granted';
  if (d.reason === 'escort_required') return 'escort';
  if (d.reason === 'lockdown') return 'lockdown';
  return 'denied';
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
  private readonly buses = new Map<string, OsdpBus>();
  /** reader|command|name of the refusals already journaled this run. */
  private readonly refusals = new Set<string>();
  private readonly state = new Map<string, ReaderCondition>();
  /** reader id → firmware version last journaled (from the journal at start, then as heard). */
  private firmware = new Map<string, string>();

  constructor(private readonly d: ReadersDeps) {}

  start(): void {
    const { guard, access } = this.d;
    this.firmware = new Map(this.d.journaledFirmware?.() ?? []);
    const osdp = new Map<string, ReaderConfig[]>();
    for (const rc of this.d.config.readers) {
      if (rc.path === 'sim') {
        this.state.set(rc.id, { online: true, reason: 'simulated' });
        continue;
      }
      if (rc.protocol === 'osdp') {
        this.state.set(rc.id, { online: false, reason: READER_STARTING });
        osdp.set(rc.path, [...(osdp.get(rc.path) ?? []), rc]);
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
    for (const [path, readers] of osdp) this.startBus(path, readers);
  }

  /** One OSDP bus: its readers polled by one control panel on one serial port. */
  private startBus(path: string, readers: ReaderConfig[]): void {
    const { guard, access } = this.d;
    const first = readers[0]!;
    const bus = new OsdpBus(
      {
        path,
        baudRate: first.osdp!.baudRate,
        reconnect: first.reconnect,
        byteBudget: first.byteBudget,
        readers: readers.map((rc) => ({
          id: rc.id,
          address: rc.osdp!.address,
          pollMs: rc.osdp!.pollMs,
          replyTimeoutMs: rc.osdp!.replyTimeoutMs,
          offlineAfterMs: rc.osdp!.offlineAfterMs,
          repeatSuppressMs: rc.repeatSuppressMs,
          linePattern: rc.linePattern,
        })),
      },
      { now: this.d.now },
    );
    for (const rc of readers) {
      // Plain text is allowed only as `secure: false`, and said at every start (docs/readers.md).
      this.d.log?.warn('OSDP reader runs in plain text: its line is neither encrypted nor authenticated', {
        reader: rc.id,
        path,
        address: rc.osdp!.address,
      });
      guard(() => bus.knownSerial(rc.id, this.d.lastSerial?.(rc.id) ?? null));
    }
    // The decision is committed (and the door driven) inside handleBadge; the reader is told after.
    bus.on('badge', (read: BadgeRead) =>
      guard(() => {
        const kind = feedbackFor(access.handleBadge(read));
        if (kind) bus.feedback(read.readerId, kind);
      }),
    );
    bus.on('status', (s: ReaderStatus) =>
      guard(() =>
        this.onReport(s.readerId, {
          kind: 'status',
          online: s.online,
          reason: s.reason,
          ...(s.flood && { flood: s.flood }),
        }),
      ),
    );
    bus.on('floodSettled', (e) => guard(() => this.onReport(e.readerId, { kind: 'flood-settled' })));
    bus.on('tamper', (t) => guard(() => this.onTamper(t.readerId, t.active)));
    bus.on('power', (p) => guard(() => this.onReaderPower(p.readerId, p.failing)));
    bus.on('identified', (e) => guard(() => this.onIdentified(e)));
    bus.on('nak', (e) => guard(() => this.onRefused(e)));
    this.buses.set(path, bus);
    bus.start();
  }

  async stop(): Promise<void> {
    await Promise.all([
      ...[...this.ports.values()].map((r) => r.stop()),
      ...[...this.buses.values()].map((b) => b.stop()),
    ]);
  }

  /** Whether a reader is receiving a frame right now (the WAL checkpoint waits for it). */
  receiving(): boolean {
    for (const r of this.ports.values()) if (r.receiving()) return true;
    for (const b of this.buses.values()) if (b.receiving()) return true;
    return false;
  }

  /** The OSDP buses' counters (for status and metrics). */
  osdpStats() {
    return [...this.buses.values()].map((b) => b.stats());
  }

  private onIdentified(e: IdentifiedEvent): void {
    const { writer } = this.d;
    const door = this.d.doors.served(e.readerId)?.doorId ?? null;
    const { readerId: reader, address, vendor, model, version, serial, firmware, at } = e;
    const rows: JournalInput[] = [
      {
        type: 'reader_identified',
        at,
        door,
        data: { reader, address, vendor, model, version, serial, firmware, link: 'plain' },
      },
    ];
    if (e.replaces !== null)
      rows.push({
        type: 'reader_replaced',
        at,
        door,
        data: { reader, address, previousSerial: e.replaces, serial, vendor, model, firmware },
      });
    writer.commit(rows);
    if (e.replaces !== null)
      writer.raiseAlarm(
        'reader_tamper',
        alarmSeverity('reader_tamper'),
        door,
        `reader ${reader} replaced: serial ${e.replaces} → ${serial}`,
        at,
        reader,
      );
  }

  private onRefused(e: NakEvent): void {
    const key = `${e.readerId}|${e.command}|${e.name}`;
    if (this.refusals.has(key)) return;
    // A reader inventing new codes cannot fill the journal either: at most 16 kinds a reader a run.
    const mine = [...this.refusals].filter((k) => k.startsWith(`${e.readerId}|`)).length;
    if (mine >= MAX_REFUSALS_JOURNALED) return;
    this.refusals.add(key);
    const door = this.d.doors.served(e.readerId)?.doorId ?? null;
    this.d.writer.commit([
      {
        type: 'reader_refused',
        at: e.at,
        door,
        data: { reader: e.readerId, command: e.command, code: e.code, name: e.name },
      },
    ]);
  }

  /** An OSDP reader reports a power failure (osdp_LSTATR): the `power_failure` alarm on its door. */
  private onReaderPower(readerId: string, failing: boolean): void {
    this.readerAlarm('power_failure', readerId, failing, `reader ${readerId} reports a power failure`);
  }

  /** A reader's alarm on the door it serves: raised while `active`, else its condition cleared. */
  private readerAlarm(
    type: 'power_failure' | 'reader_tamper' | 'reader_offline',
    readerId: string,
    active: boolean,
    detail: string,
    at = this.d.now(),
  ): void {
    const door = this.d.doors.served(readerId)?.doorId ?? null;
    if (active) this.d.writer.raiseAlarm(type, alarmSeverity(type), door, detail, at, readerId);
    else this.d.writer.clearAlarmCondition(type, door, at, readerId);
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
    if (step.alarm?.action === 'raise')
      this.readerAlarm('reader_offline', readerId, true, step.alarm.detail, at);
    else if (step.alarm) this.readerAlarm('reader_offline', readerId, false, '', at);
  }

  private onTamper(readerId: string, active: boolean): void {
    this.readerAlarm('reader_tamper', readerId, active, `reader ${readerId} case opened`);
  }
}

/** The serial number of the unit last journaled at an OSDP reader's address, or null. */
export function lastOsdpSerial(
  journal: { query(f: { types: readonly string[]; limit: number }): { data: unknown }[] },
  readerId: string,
): string | null {
  for (const row of journal.query({ types: ['reader_identified'], limit: 500 })) {
    const d = row.data as { reader?: unknown; serial?: unknown };
    if (d.reader === readerId && typeof d.serial === 'string') return d.serial;
  }
  return null;
}
