/**
 * A door's readers while it is commissioned: the real serial port, supervised by the bridge's
 * `ReaderPort` (the code the controller runs), or — for a simulated reader (`path: sim`) — one
 * played over the simulation channel.
 */
import { EventEmitter } from 'node:events';
import { realpathSync } from 'node:fs';
import { normaliseCredential, ReaderPort } from '../../firmware-bridge/index.js';
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
  return config.path === 'sim' ? new SimProbe(config) : new SerialProbe(config);
}

function resolveDevice(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
