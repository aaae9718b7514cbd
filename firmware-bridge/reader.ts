/**
 * One serial badge reader, supervised: open the port, decode what arrives, reopen with backoff when
 * the device goes away, notice a silent bridge board, and turn repeated reads of a card held in the
 * field into one presentation. Everything it knows leaves as events; it never throws out of an
 * event handler and a vanished device never takes the process down.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { BadgeRead } from '../controller/domain/types.js';
import { ByteBudget, type ByteBudgetSettings, backoffDelay, DEFAULT_BYTE_BUDGET } from './budget.js';
import { createCodec, type ReaderProtocol } from './codecs/index.js';
import { type Codec, type CodecEvent, type DropReason, isSignOfLife } from './codecs/types.js';

/**
 * What the reader needs from its config entry. `ReaderConfig` (controller/config) satisfies it;
 * it is spelt out here so the bridge does not depend on the config module.
 */
export interface ReaderSettings {
  id: string;
  path: string;
  baudRate: number;
  protocol: ReaderProtocol;
  linePattern: string;
  repeatSuppressMs: number;
  offlineAfterMs: number;
  reconnect: { initialMs: number; maxMs: number };
  /**
   * The byte budget (see budget.ts): more than `factor` × baudRate / 10 bytes/s over `windowMs` is
   * a flood; repeated floods back off. Default `DEFAULT_BYTE_BUDGET` (10×, 1 s, 5 s cool-down
   * doubling up to 5 min, forgiven after 5 min within the budget).
   */
  byteBudget?: ByteBudgetSettings;
}

/** The part of serialport's `SerialPort` the reader uses (tests pass their own). */
export interface SerialLike {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  close(callback?: (err: Error | null) => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: (err?: Error | null) => void): unknown;
}

export interface ReaderPortOptions {
  /** Clock for `at` fields and timing decisions (UTC ms). Default `Date.now`. */
  now?: () => number;
  /** Make (not open) the port. Default: serialport's `SerialPort` with `autoOpen: false`. */
  openPort?: (path: string, baudRate: number) => SerialLike;
  /** Source of jitter, [0, 1). Default `Math.random`. */
  random?: () => number;
  /** A partial frame older than this is discarded when more bytes arrive (see CodecOptions). */
  staleMs?: number;
  /** A connection that stayed open at least this long resets the backoff. Default 10 000 ms. */
  stableMs?: number;
}

export interface ReaderStatus {
  readerId: string;
  online: boolean;
  /**
   * online: `open` (the port opened; rdm6300, line) or `receiving` (a valid frame; wiegand-bridge).
   * offline: `flood` (bytes far above the line's rate: not decoded until the flood is over),
   * `silent` (no frame for offlineAfterMs), `disconnected`, `closed`, an errno code such as
   * `ENOENT`, `EACCES`, `EBUSY`, `EIO`, or the error message when there is no code.
   *
   * A status is emitted when `online` changes, also when the reader enters or leaves `flood`
   * while offline (e.g. `offline:silent` → `offline:flood` → `offline:ENOENT`), and at the start of
   * every flood episode.
   */
  reason: string;
  /** With reason `flood`, one per episode: which flood of its incident this is, and its cool-down. */
  flood?: FloodEpisode;
  at: number;
}

export interface FloodEpisode {
  /**
   * 1 for the first flood of an incident; n for a flood that began within `quietMs` of the end of
   * flood n − 1's cool-down.
   */
  episode: number;
  /** This episode's cool-down (ms): coolDownMs × 2^(episode − 1), at most maxCoolDownMs. */
  coolDownMs: number;
}

/**
 * A flood incident is over: the port has stayed within its byte budget for `quietMs` since the
 * last cool-down ended, and the next flood starts again at the base cool-down. Emitted once per
 * incident, after its last `offline:flood` status (and before the first status of the next one).
 */
export interface FloodSettledEvent {
  readerId: string;
  /** How many floods the incident had. */
  episodes: number;
  at: number;
}

export interface TamperEvent {
  readerId: string;
  active: boolean;
  at: number;
}

export interface DroppedEvent {
  readerId: string;
  why: DropReason;
  bytes: number;
  at: number;
}

export interface HelloEvent {
  readerId: string;
  protocol: number;
  firmware: string;
  at: number;
}

export type ReaderPortEvents = {
  /** Online/offline transitions only; the first one tells the initial state. */
  status: [ReaderStatus];
  /** One per card presentation. */
  badge: [BadgeRead];
  /** Tamper switch changes (the first report only if the case is open). */
  tamper: [TamperEvent];
  dropped: [DroppedEvent];
  /** A bridge board announced itself (after it started). */
  hello: [HelloEvent];
  /** A flood incident ended (see FloodSettledEvent). */
  floodSettled: [FloodSettledEvent];
};

export interface ReaderStats {
  readerId: string;
  /** null until the first status is known. */
  online: boolean | null;
  reason: string;
  /** Bytes received, decoded or not (`floodBytes` of them were thrown away undecoded). */
  bytes: number;
  /** Bytes thrown away undecoded because the port was over its byte budget. */
  floodBytes: number;
  /** Times the port went over its byte budget (flood episodes). */
  floods: number;
  /** Whether the port is flooding now (its bytes are not decoded). */
  flooding: boolean;
  /**
   * The flood episode of the open incident (flooding, or cooled down less than `quietMs` ago): 1
   * for the first; 0 when there is none.
   */
  floodEpisode: number;
  /** The cool-down of that episode (ms); the base cool-down when there is no incident. */
  floodCoolDownMs: number;
  /** Intact frames decoded (including heartbeats and rejected-content frames). */
  frames: number;
  /** Badge events emitted. */
  badges: number;
  /** Reads swallowed as repeats of a presentation. */
  suppressed: number;
  dropped: Record<DropReason, number>;
  droppedBytes: Record<DropReason, number>;
  /** Successful opens of the port. */
  opens: number;
  /** Reconnection attempts scheduled after a failure or loss. */
  reconnects: number;
  heartbeats: number;
  /** Heartbeat sequence numbers skipped (lost frames). */
  missedHeartbeats: number;
  /** Times the board's uptime went backwards or it said hello again (it restarted). */
  boardRestarts: number;
  firmware: string | null;
  /** Exceptions thrown by our own listeners, caught so they could not crash the port. */
  listenerErrors: number;
}

/** Jitter takes up to this fraction off a backoff delay (never adds, so maxMs holds). */
export const BACKOFF_JITTER = 0.2;

const ERRNO_BY_MESSAGE: [RegExp, string][] = [
  [/no such file or directory/i, 'ENOENT'],
  [/permission denied/i, 'EACCES'],
  [/resource busy|cannot lock port|temporarily unavailable/i, 'EBUSY'],
  [/input\/output error/i, 'EIO'],
  [/no such device/i, 'ENODEV'],
  [/inappropriate ioctl/i, 'ENOTTY'],
  [/bad file descriptor/i, 'EBADF'],
];

/** A short, stable reason for a port failure. */
export function reasonOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; disconnected?: unknown; message?: unknown };
    if (e.disconnected === true) return 'disconnected';
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    const message = typeof e.message === 'string' ? e.message : '';
    for (const [re, code] of ERRNO_BY_MESSAGE) if (re.test(message)) return code;
    if (message !== '') return message.slice(0, 120);
  }
  return String(err).slice(0, 120) || 'error';
}

interface Connection {
  port: SerialLike;
  state: 'opening' | 'open' | 'closed';
  openedAt: number;
  /** Set when the connection was given up while still opening: run once the open settles. */
  afterOpen?: () => void;
  openTimer?: NodeJS.Timeout;
}

/** A port that neither opens nor fails within this time is given up and retried. */
const OPEN_TIMEOUT_MS = 10_000;
/** Waiting for a port to close (or an abandoned open to settle) ends after this, regardless. */
const CLOSE_TIMEOUT_MS = 2000;
/** The status reason of a port over its byte budget. */
export const FLOOD_REASON = 'flood';

function defaultOpenPort(path: string, baudRate: number): SerialLike {
  return new SerialPort({ path, baudRate, autoOpen: false });
}

export class ReaderPort extends EventEmitter<ReaderPortEvents> {
  readonly id: string;
  private readonly settings: ReaderSettings;
  private readonly codec: Codec;
  private readonly now: () => number;
  private readonly openPort: (path: string, baudRate: number) => SerialLike;
  private readonly random: () => number;
  private readonly stableMs: number;
  private readonly heartbeatReader: boolean;
  private readonly budget: ByteBudget;

  private running = false;
  private conn: Connection | undefined;
  /** Resolves once the previous connection's port is closed. */
  private released: Promise<void> = Promise.resolve();
  private stopped: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private floodTimer: NodeJS.Timeout | undefined;
  private attempt = 0;

  private online: boolean | null = null;
  private reason = 'not started';
  /** The reason of the last status emitted. */
  private emittedReason = '';
  /** While flooding: the last status the port itself asked for, reported when the flood ends. */
  private deferred: { online: boolean; reason: string } | undefined;
  /** Episodes reported of the flood incident not yet reported settled (0: none open). */
  private floodEpisodes = 0;
  private tamper: boolean | undefined;
  private readonly lastSeen = new Map<string, number>();
  private lastHeartbeat: { seq: number; uptimeMs: number } | undefined;
  /** The board has sent an intact frame since the port was last opened. */
  private heardSinceOpen = false;
  private readonly counts = {
    badges: 0,
    suppressed: 0,
    opens: 0,
    reconnects: 0,
    heartbeats: 0,
    missedHeartbeats: 0,
    boardRestarts: 0,
    listenerErrors: 0,
    floodBytes: 0,
    floods: 0,
  };
  private firmware: string | null = null;

  /** Throws only on an invalid configuration (e.g. a `linePattern` that is not a regex). */
  constructor(settings: ReaderSettings, options: ReaderPortOptions = {}) {
    super();
    this.settings = settings;
    this.id = settings.id;
    this.codec = createCodec(settings.protocol, {
      linePattern: settings.linePattern,
      staleMs: options.staleMs,
    });
    this.now = options.now ?? (() => Date.now());
    this.openPort = options.openPort ?? defaultOpenPort;
    this.random = options.random ?? Math.random;
    this.stableMs = options.stableMs ?? 10_000;
    this.heartbeatReader = settings.protocol === 'wiegand-bridge';
    this.budget = new ByteBudget(settings.baudRate, settings.byteBudget ?? DEFAULT_BYTE_BUDGET);
  }

  /**
   * Whether a frame is arriving: its first bytes are here, its last not yet (an RDM6300 frame takes
   * 14.6 ms at 9600 baud). The controller puts a WAL checkpoint off meanwhile, so that the frame's
   * decision does not wait for it.
   */
  receiving(): boolean {
    return this.running && this.codec.receiving(this.now());
  }

  /** Begin supervising the port. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.online = null;
    this.reason = 'starting';
    this.emittedReason = '';
    this.deferred = undefined;
    this.floodEpisodes = 0;
    this.budget.clear();
    void this.released.then(() => this.guard(() => this.connect()));
  }

  /**
   * Close the port and stop every timer; no reconnection follows. Idempotent; resolves once the
   * port is closed. Emits no status (the reader is out of service, not broken).
   */
  stop(): Promise<void> {
    if (!this.running) return this.stopped;
    this.running = false;
    this.clearTimer('retryTimer');
    this.clearTimer('silenceTimer');
    this.clearTimer('floodTimer');
    const conn = this.conn;
    if (conn) this.release(conn);
    this.reason = 'stopped';
    this.online = false;
    this.stopped = this.released;
    return this.stopped;
  }

  status(): { readerId: string; online: boolean | null; reason: string } {
    return { readerId: this.id, online: this.online, reason: this.reason };
  }

  stats(): ReaderStats {
    const c = this.codec.stats();
    return {
      readerId: this.id,
      online: this.online,
      reason: this.reason,
      bytes: c.bytes + this.counts.floodBytes,
      frames: c.frames,
      dropped: c.dropped,
      droppedBytes: c.droppedBytes,
      ...this.counts,
      flooding: this.budget.flooding,
      floodEpisode: this.budget.episode,
      floodCoolDownMs: this.budget.coolDownMs,
      firmware: this.firmware,
    };
  }

  // --- connection supervision ------------------------------------------------------------------

  private connect(): void {
    if (!this.running || this.conn || this.retryTimer) return;
    let port: SerialLike;
    try {
      port = this.openPort(this.settings.path, this.settings.baudRate);
    } catch (err) {
      this.failed(err);
      return;
    }
    const conn: Connection = { port, state: 'opening', openedAt: 0 };
    this.conn = conn;
    conn.openTimer = setTimeout(
      () => this.guard(() => this.lost(conn, new Error('open timed out'))),
      OPEN_TIMEOUT_MS,
    );
    // These stay attached for the port's life, so a late error on an abandoned port is harmless.
    port.on('data', (chunk: Buffer) => {
      if (this.conn === conn) this.guard(() => this.onData(chunk));
    });
    port.on('error', (err: Error) => {
      if (this.conn === conn) this.guard(() => this.lost(conn, err));
    });
    port.on('close', (err?: Error | null) => {
      conn.state = 'closed';
      if (this.conn === conn) this.guard(() => this.lost(conn, err ?? new Error('closed')));
    });
    try {
      port.open((err) => this.guard(() => this.opened(conn, err)));
    } catch (err) {
      this.lost(conn, err);
    }
  }

  private opened(conn: Connection, err: Error | null): void {
    clearTimeout(conn.openTimer);
    const wasOpening = conn.state === 'opening';
    if (wasOpening) conn.state = err ? 'closed' : 'open';
    if (conn.afterOpen) {
      conn.afterOpen();
      return;
    }
    if (this.conn !== conn || !wasOpening) return;
    if (err) {
      this.lost(conn, err);
      return;
    }
    conn.openedAt = this.now();
    this.counts.opens++;
    // Gaps and hellos across a reconnection say nothing about the board.
    this.lastHeartbeat = undefined;
    this.heardSinceOpen = false;
    this.handle(this.codec.reset(), conn.openedAt);
    if (this.heartbeatReader) {
      // Online only once the board speaks; until then the last reason stays, or `waiting`.
      if (this.budget.flooding) this.deferred = { online: false, reason: 'waiting' };
      else if (this.online !== true) this.reason = 'waiting';
      this.armSilence();
    } else this.setStatus(true, 'open', conn.openedAt);
  }

  /** The connection failed or went away: mark offline and schedule the next attempt. */
  private lost(conn: Connection, err: unknown): void {
    if (this.conn !== conn) return;
    const at = this.now();
    const lasted = conn.openedAt > 0 ? at - conn.openedAt : 0;
    this.release(conn);
    this.clearTimer('silenceTimer');
    this.handle(this.codec.reset(), at);
    if (conn.openedAt > 0 && lasted >= this.stableMs) this.attempt = 0;
    this.failed(err);
  }

  private failed(err: unknown): void {
    this.setStatus(false, reasonOf(err), this.now());
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.retryTimer) return;
    const { initialMs, maxMs } = this.settings.reconnect;
    const base = backoffDelay(this.attempt, initialMs, maxMs);
    const delay = Math.max(0, Math.round(base * (1 - BACKOFF_JITTER * this.random())));
    this.attempt++;
    this.counts.reconnects++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.released.then(() => this.guard(() => this.connect()));
    }, delay);
  }

  /** Detach `conn` and see that its port ends up closed (`this.released` tracks it). */
  private release(conn: Connection): void {
    if (this.conn === conn) this.conn = undefined;
    clearTimeout(conn.openTimer);
    const previous = this.released;
    const closing = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const close = () => {
        if (!conn.port.isOpen) return done();
        try {
          conn.port.close(() => done());
        } catch {
          done();
        }
      };
      if (conn.state === 'opening') conn.afterOpen = close;
      else close();
    });
    this.released = Promise.all([previous, closing]).then(() => undefined);
  }

  // --- data ------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    const at = this.now();
    switch (this.budget.take(chunk.length, at)) {
      case 'decode':
        break;
      case 'flood':
        this.counts.floodBytes += chunk.length;
        this.floodBegins(at);
        return;
      case 'drop':
        // The cheap path: a flood costs one counter update per chunk.
        this.counts.floodBytes += chunk.length;
        return;
      case 'resume':
        this.floodEnds(at);
        break;
    }
    this.handle(this.codec.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), at), at);
  }

  /**
   * Over budget: stop decoding. A partial frame is thrown away (it can never be completed by bytes
   * after the flood), the reader is reported offline with reason `flood` and the episode, and a
   * timer looks for the end of the cool-down even if no more bytes come.
   */
  private floodBegins(at: number): void {
    this.counts.floods++;
    const episode = this.budget.episode;
    // The previous incident ended without its timer having said so (the event loop was late).
    if (episode === 1 && this.floodEpisodes > 0) this.floodSettled(at);
    this.floodEpisodes = episode;
    this.handle(this.codec.reset(), at);
    this.deferred = { online: this.online ?? false, reason: this.reason };
    this.publish(false, FLOOD_REASON, at, { episode, coolDownMs: this.budget.coolDownMs });
    this.armFloodTimer(at);
  }

  /** The cool-down passed: decode again from a clean codec and report what the port is now. */
  private floodEnds(at: number): void {
    this.clearTimer('floodTimer');
    this.handle(this.codec.reset(), at);
    const deferred = this.deferred;
    this.deferred = undefined;
    if (!this.running) return;
    if (this.conn?.state === 'open') {
      if (this.heartbeatReader) {
        // Online again only once the board speaks; a silence reports `silent`.
        this.reason = 'waiting';
        this.armSilence();
      } else this.publish(true, 'open', at);
    } else if (!this.conn) {
      // The port went away during the flood (or is waiting for a retry).
      this.publish(false, deferred && !deferred.online ? deferred.reason : 'closed', at);
    } else {
      // Opening: the open's outcome reports.
      this.reason = 'opening';
    }
    // Now the quiet time that ends the incident.
    this.armFloodTimer(at);
  }

  private floodSettled(at: number): void {
    const episodes = this.floodEpisodes;
    this.floodEpisodes = 0;
    this.emitSafely('floodSettled', { readerId: this.id, episodes, at });
  }

  /**
   * One timer for the two ends of a flood: while flooding, the end of the cool-down; after it, the
   * end of the quiet time that closes the incident. Bytes can end the cool-down first (`resume`);
   * only this timer ends the incident, or the next flood if the timer is late.
   */
  private armFloodTimer(at: number): void {
    this.clearTimer('floodTimer');
    if (!this.running) return;
    let delay: number;
    if (this.budget.flooding) delay = this.budget.msUntilResume(at);
    else if (this.floodEpisodes > 0) delay = this.budget.msUntilSettled(at);
    else return;
    this.floodTimer = setTimeout(
      () => {
        this.floodTimer = undefined;
        this.guard(() => {
          if (!this.running) return;
          const now = this.now();
          if (this.budget.flooding) {
            if (this.budget.poll(now)) this.floodEnds(now);
            else this.armFloodTimer(now);
          } else if (this.floodEpisodes > 0) {
            if (this.budget.settle(now) || !this.budget.inIncident) this.floodSettled(now);
            else this.armFloodTimer(now);
          }
        });
      },
      Math.max(1, Math.ceil(delay)),
    );
  }

  private handle(events: CodecEvent[], at: number): void {
    for (const event of events) {
      const alive = isSignOfLife(event);
      if (this.heartbeatReader && alive) {
        this.armSilence();
        this.setStatus(true, 'receiving', at);
      }
      switch (event.kind) {
        case 'credential':
          this.credential(event.credential, event.format, at);
          break;
        case 'heartbeat':
          this.heartbeat(event.seq, event.uptimeMs);
          this.setTamper(event.tamper, at);
          break;
        case 'tamper':
          this.setTamper(event.active, at);
          break;
        case 'hello':
          // A hello after other frames on this connection: the board restarted.
          if (this.heardSinceOpen) this.counts.boardRestarts++;
          this.firmware = event.firmware;
          this.lastHeartbeat = undefined;
          this.emitSafely('hello', {
            readerId: this.id,
            protocol: event.protocol,
            firmware: event.firmware,
            at,
          });
          break;
        case 'dropped':
          this.emitSafely('dropped', { readerId: this.id, why: event.why, bytes: event.bytes, at });
          break;
      }
      if (alive) this.heardSinceOpen = true;
    }
  }

  /** Repeat suppression: a sighting within the window of the previous one extends it. */
  private credential(credential: string, format: string, at: number): void {
    const window = this.settings.repeatSuppressMs;
    const last = this.lastSeen.get(credential);
    this.lastSeen.set(credential, at);
    if (last !== undefined && at - last >= 0 && at - last < window) {
      this.counts.suppressed++;
      return;
    }
    if (this.lastSeen.size > 64) {
      for (const [key, seen] of this.lastSeen)
        if (!(at - seen >= 0 && at - seen < window)) this.lastSeen.delete(key);
    }
    this.counts.badges++;
    this.emitSafely('badge', { readerId: this.id, credential, format, at });
  }

  private heartbeat(seq: number, uptimeMs: number): void {
    this.counts.heartbeats++;
    const last = this.lastHeartbeat;
    if (last) {
      if (uptimeMs < last.uptimeMs && last.uptimeMs - uptimeMs < 0x8000_0000) this.counts.boardRestarts++;
      else {
        const gap = (seq - last.seq - 1 + 0x1_0000_0000) % 0x1_0000_0000;
        // A huge gap means the counter went backwards: count it as a restart, not as lost frames.
        if (gap < 0x8000_0000) this.counts.missedHeartbeats += gap;
        else this.counts.boardRestarts++;
      }
    }
    this.lastHeartbeat = { seq, uptimeMs };
  }

  private setTamper(active: boolean, at: number): void {
    if (this.tamper === active) return;
    const first = this.tamper === undefined;
    this.tamper = active;
    if (first && !active) return;
    this.emitSafely('tamper', { readerId: this.id, active, at });
  }

  private armSilence(): void {
    const ms = this.settings.offlineAfterMs;
    if (!this.heartbeatReader || ms <= 0 || !this.running) return;
    this.clearTimer('silenceTimer');
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      this.guard(() => this.setStatus(false, 'silent', this.now()));
    }, ms);
  }

  // --- plumbing --------------------------------------------------------------------------------

  /** What the port says about itself; held back while the port is flooding. */
  private setStatus(online: boolean, reason: string, at: number): void {
    if (!this.running) return;
    if (this.budget.flooding) {
      this.deferred = { online, reason };
      return;
    }
    this.publish(online, reason, at);
  }

  /** Emit a status if it is news; one with `flood` (a new episode) always is. */
  private publish(online: boolean, reason: string, at: number, flood?: FloodEpisode): void {
    if (!this.running) return;
    this.reason = reason;
    const floodChange = (reason === FLOOD_REASON) !== (this.emittedReason === FLOOD_REASON);
    if (this.online === online && !floodChange && !flood) return;
    this.online = online;
    this.emittedReason = reason;
    this.emitSafely('status', { readerId: this.id, online, reason, ...(flood && { flood }), at });
  }

  private clearTimer(which: 'retryTimer' | 'silenceTimer' | 'floodTimer'): void {
    const t = this[which];
    if (t) clearTimeout(t);
    this[which] = undefined;
  }

  /** Emit, catching a listener's exception so it cannot unwind into serialport or a timer. */
  private emitSafely<K extends keyof ReaderPortEvents>(event: K, ...args: ReaderPortEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: ReaderPortEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.counts.listenerErrors++;
      process.emitWarning(`reader ${this.id}: a '${String(event)}' listener threw: ${reasonOf(err)}`, {
        code: 'SEKISHO_READER_LISTENER',
      });
    }
  }

  /** Run supervision code from a callback; an unexpected bug is reported, never thrown. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counts.listenerErrors++;
      process.emitWarning(`reader ${this.id}: ${reasonOf(err)}`, { code: 'SEKISHO_READER_INTERNAL' });
    }
  }
}
