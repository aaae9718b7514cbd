/**
 * A door's readers while it is commissioned: the real serial port, supervised by the bridge's
 * `ReaderPort` (the code the controller runs), or — for a simulated reader (`path: sim`) — one
 * played over the simulation channel.
 */
import { EventEmitter } from 'node:events';
import { realpathSync } from 'node:fs';
import { normaliseCredential, ReaderPort } from '../../firmware-bridge/index.js';
import { OsdpBus } from '../../firmware-bridge/osdp/cp.js';
import type { ReaderConfig } from '../config/index.js';
import { maskCredential } from '../journal/index.js';

export interface ProbeEvents {
  badge: [{ masked: string; format: string }];
  status: [{ online: boolean; reason: string }];
}

export interface ReaderProbe extends EventEmitter<ProbeEvents> {
  readonly config: ReaderConfig;
  /** Whether the reader is online now (null: not known yet). */
  online(): boolean | null;
  reason(): string;
  /** A bridge board's firmware, once it said hello. */
  firmware(): string | null;
  /** The device the path resolves to, or null. */
  device(): string | null;
  start(): void;
  stop(): Promise<void>;
}

class SerialProbe extends EventEmitter<ProbeEvents> implements ReaderProbe {
  readonly config: ReaderConfig;
  private readonly port: ReaderPort;
  private fw: string | null = null;
  private dev: string | null = null;

  constructor(config: ReaderConfig) {
    super();
    this.config = config;
    // Every presentation counts here: a card held at the reader again is a second test.
    this.port = new ReaderPort({ ...config, repeatSuppressMs: 0 });
    this.port.on('badge', (b) =>
      this.emit('badge', { masked: maskCredential(b.credential), format: b.format }),
    );
    this.port.on('status', (s) => {
      if (s.online) this.dev = resolveDevice(config.path) ?? this.dev;
      this.emit('status', { online: s.online, reason: s.reason });
    });
    this.port.on('hello', (h) => {
      this.fw = h.firmware;
    });
  }

  online() {
    return this.port.status().online;
  }
  reason() {
    return this.port.status().reason;
  }
  firmware() {
    return this.fw;
  }
  device() {
    return this.dev;
  }
  start() {
    this.dev = resolveDevice(this.config.path);
    this.port.start();
  }
  stop() {
    return this.port.stop();
  }
}

/** A simulated reader, played over the simulation channel (card, unplug, plug). */
export class SimProbe extends EventEmitter<ProbeEvents> implements ReaderProbe {
  readonly config: ReaderConfig;
  private present = true;

  constructor(config: ReaderConfig) {
    super();
    this.config = config;
  }

  card(number: string): void {
    if (!this.present) throw new Error(`reader "${this.config.id}" is unplugged`);
    const credential = normaliseCredential('auto', number);
    this.emit('badge', { masked: maskCredential(credential), format: 'sim' });
  }

  plug(present: boolean): void {
    if (present === this.present) return;
    this.present = present;
    this.emit('status', { online: present, reason: present ? 'open' : 'disconnected' });
  }

  online() {
    return this.present;
  }
  reason() {
    return this.present ? 'open' : 'disconnected';
  }
  firmware() {
    return null;
  }
  device() {
    return null;
  }
  start() {}
  async stop() {}
}

export function readerProbe(config: ReaderConfig): ReaderProbe {
  if (config.path === 'sim') return new SimProbe(config);
  return config.protocol === 'osdp' ? new OsdpProbe(config) : new SerialProbe(config);
}

function resolveDevice(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * The OSDP buses of the probes being commissioned: a door's entry and exit readers may share one
 * (one port, opened once). Made with the first probe, started with the first start, stopped with
 * the last stop.
 */
const probeBuses = new Map<string, { bus: OsdpBus; users: number; started: boolean }>();

/** An OSDP reader, polled by the control panel the controller runs (firmware-bridge/osdp). */
class OsdpProbe extends EventEmitter<ProbeEvents> implements ReaderProbe {
  readonly config: ReaderConfig;
  private readonly shared: { bus: OsdpBus; users: number; started: boolean };
  private fw: string | null = null;
  private dev: string | null = null;
  private running = false;
  private released = false;

  constructor(config: ReaderConfig) {
    super();
    this.config = config;
    const o = config.osdp!;
    const settings = {
      id: config.id,
      address: o.address,
      pollMs: o.pollMs,
      replyTimeoutMs: o.replyTimeoutMs,
      offlineAfterMs: o.offlineAfterMs,
      // Every presentation counts here: a card held at the reader again is a second test.
      repeatSuppressMs: 0,
      linePattern: config.linePattern,
    };
    let shared = probeBuses.get(config.path);
    if (shared && !shared.started) shared.bus.addReader(settings);
    else {
      const bus = new OsdpBus({
        path: config.path,
        baudRate: o.baudRate,
        reconnect: config.reconnect,
        byteBudget: config.byteBudget,
        readers: [settings],
      });
      shared = { bus, users: 0, started: false };
      probeBuses.set(config.path, shared);
    }
    this.shared = shared;
    shared.users++;
    const mine = (id: string) => id === config.id;
    shared.bus.on('badge', (b) => {
      if (mine(b.readerId)) this.emit('badge', { masked: maskCredential(b.credential), format: b.format });
    });
    shared.bus.on('status', (s) => {
      if (!mine(s.readerId)) return;
      if (s.online) this.dev = resolveDevice(config.path) ?? this.dev;
      this.emit('status', { online: s.online, reason: s.reason });
    });
    shared.bus.on('identified', (e) => {
      if (mine(e.readerId))
        this.fw = `${e.firmware} (OSDP ${e.vendor}/${e.model}, serial ${e.serial}, plain)`;
    });
  }

  online() {
    return this.shared.bus.status(this.config.id)?.online ?? null;
  }
  reason() {
    return this.shared.bus.status(this.config.id)?.reason ?? 'starting';
  }
  firmware() {
    return this.fw;
  }
  device() {
    return this.dev;
  }
  start() {
    if (this.running) return;
    this.running = true;
    this.dev = resolveDevice(this.config.path);
    if (!this.shared.started) {
      this.shared.started = true;
      this.shared.bus.start();
    }
  }
  async stop() {
    if (this.released) return;
    this.released = true;
    this.running = false;
    if (--this.shared.users > 0) return;
    if (probeBuses.get(this.config.path) === this.shared) probeBuses.delete(this.config.path);
    await this.shared.bus.stop();
  }
}
