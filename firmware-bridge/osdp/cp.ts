/**
 * The OSDP control panel (CP): one RS-485 bus (one serial port, half duplex) and the readers (PDs)
 * on it at their addresses. It polls them round-robin, one transaction on the line at a time,
 * supervises each (8 s without a valid reply = offline), runs the start-up (POLL, ID, CAP, LSTAT)
 * whenever a reader comes (back), and turns what they say into the same events as `ReaderPort`:
 * `status`, `badge`, `tamper`, `floodSettled`, plus `identified`, `power` and `nak`.
 *
 * Plain text only: the Secure Channel (SCS_11…SCS_18) is not built yet. The frame layer exposes the
 * security block and MAC so it can be added without changing this file's shape.
 *
 * Sequence numbers (OSDP v2.2 §5.7): 0 on the first command (the reader resets its side), then
 * 1→2→3→1; after a reply timeout the very same bytes go again with the same sequence number, so a
 * reader that did answer (its reply was lost) recognises the repeat and answers again. A NAK for a
 * sequence error restarts at 0 with the start-up.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { BadgeRead } from '../../controller/domain/types.js';
import { ByteBudget, type ByteBudgetSettings, backoffDelay, DEFAULT_BYTE_BUDGET } from '../budget.js';
import { decodeWiegandBits } from '../codecs/wiegand.js';
import { CredentialError, parseCredential } from '../credential.js';
import type { FloodEpisode, FloodSettledEvent, ReaderStatus, SerialLike, TamperEvent } from '../reader.js';
import { reasonOf } from '../reader.js';
import * as C from './commands.js';
import { type DecoderEvent, encodeFrame, OsdpDecoder, type OsdpFrame, type OsdpSequence } from './frame.js';

export interface OsdpReaderSettings {
  id: string;
  address: number;
  /** Longest time between two polls of this reader (ms). */
  pollMs: number;
  /** How long to wait for a reply before sending the same frame again (ms). */
  replyTimeoutMs: number;
  /** No valid reply for this long: the reader is offline (ms). */
  offlineAfterMs: number;
  repeatSuppressMs: number;
  /** For cards whose bits are not Wiegand 26/34, or FMT text: the `line` credential pattern. */
  linePattern: string;
}

export interface OsdpBusSettings {
  path: string;
  baudRate: number;
  readers: OsdpReaderSettings[];
  reconnect: { initialMs: number; maxMs: number };
  byteBudget?: ByteBudgetSettings;
}

export interface OsdpBusOptions {
  now?: () => number;
  openPort?: (path: string, baudRate: number) => SerialLike & { write(data: Buffer): unknown };
  random?: () => number;
}

/** What the reader shows after a decision (osdp_LED + osdp_BUZ). */
export type OsdpFeedback = 'granted' | 'denied' | 'escort' | 'lockdown';

export interface IdentifiedEvent extends C.PdId {
  readerId: string;
  address: number;
  /** The serial seen at this address before (since start, or as told by `knownSerial`), if different. */
  replaces: string | null;
  at: number;
}

export interface PowerEvent {
  readerId: string;
  /** The reader reports a power failure. */
  failing: boolean;
  at: number;
}

export interface NakEvent {
  readerId: string;
  /** The command the reader refused. */
  command: string;
  code: number;
  name: string;
  at: number;
}

export type OsdpBusEvents = {
  status: [ReaderStatus];
  badge: [BadgeRead];
  tamper: [TamperEvent];
  power: [PowerEvent];
  identified: [IdentifiedEvent];
  nak: [NakEvent];
  floodSettled: [FloodSettledEvent];
};

export interface OsdpReaderStats {
  readerId: string;
  address: number;
  online: boolean | null;
  reason: string;
  /** Commands sent, counting each repeat. */
  sent: number;
  /** Repeats of a frame after a reply timeout (or BUSY). */
  retries: number;
  timeouts: number;
  replies: number;
  /** Replies with a sequence number other than the command's (ignored). */
  wrongSequence: number;
  naks: Record<string, number>;
  /** Command codes the reader said it does not know (NAK 0x03): not sent again. */
  unsupported: string[];
  badges: number;
  suppressed: number;
  /** Cards refused by the credential path (bad parity, unknown format, a pattern mismatch). */
  rejectedCards: number;
  feedbackSent: number;
  /** Feedback dropped because the queue was full or the reader offline. */
  feedbackDropped: number;
  identity: C.PdId | null;
  capabilities: C.PdCapability[] | null;
}

export interface OsdpBusStats {
  path: string;
  bytes: number;
  floodBytes: number;
  floods: number;
  flooding: boolean;
  garbageBytes: number;
  /** Valid frames on the line not answering our transaction (another address, late, a command echo). */
  strayFrames: number;
  opens: number;
  readers: OsdpReaderStats[];
}

/** While offline, a reader is tried this often, so a dead reader does not slow the others down. */
const OFFLINE_RETRY_MS = 1000;
/** Feedback waiting for a busy or slow reader: older entries give way. */
const FEEDBACK_QUEUE = 4;
const OPEN_TIMEOUT_MS = 10_000;

type Step = 'poll' | 'id' | 'cap' | 'lstat';
const STARTUP: Step[] = ['poll', 'id', 'cap', 'lstat'];

interface Transaction {
  reader: Pd;
  command: C.Command;
  /** What it was for: a start-up step, a regular poll, or feedback. */
  purpose: Step | 'feedback';
  sequence: OsdpSequence;
  bytes: Buffer;
  timer: NodeJS.Timeout | undefined;
}

interface Pd {
  s: OsdpReaderSettings;
  /** The sequence number of the next new command; 0 means "start over". */
  next: OsdpSequence;
  /** Start-up steps still to do (empty: running). */
  startup: Step[];
  online: boolean | null;
  reason: string;
  lastReplyAt: number;
  /** When the reader was last sent a command. */
  lastSentAt: number;
  queue: C.Command[];
  serial: string | null;
  tamper: boolean | undefined;
  power: boolean | undefined;
  lastSeen: Map<string, number>;
  stats: Omit<OsdpReaderStats, 'readerId' | 'address' | 'online' | 'reason' | 'unsupported'>;
  unsupported: Set<number>;
}

function defaultOpenPort(path: string, baudRate: number): SerialLike & { write(data: Buffer): unknown } {
  return new SerialPort({ path, baudRate, autoOpen: false });
}

const nextSequence = (s: OsdpSequence): OsdpSequence => (s === 3 ? 1 : ((s + 1) as OsdpSequence));

/** The LED and buzzer of each feedback: sent after the decision is committed, never before. */
export function feedbackCommands(kind: OsdpFeedback): C.Command[] {
  const temp = (
    onColour: C.LedColour,
    offColour: C.LedColour,
    onMs: number,
    offMs: number,
    timerMs: number,
  ) => C.led([{ reader: 0, led: 0, temporary: { onColour, offColour, onMs, offMs, timerMs } }]);
  switch (kind) {
    case 'granted':
      return [temp('green', 'green', 3000, 0, 3000), C.buz(0, 200, 0, 1)];
    case 'denied':
      return [temp('red', 'red', 2000, 0, 2000), C.buz(0, 100, 100, 3)];
    case 'escort':
      // Waiting for an escort's badge: amber, blinking, with one long beep.
      return [temp('amber', 'black', 500, 500, 10_000), C.buz(0, 500, 0, 1)];
    case 'lockdown':
      return [temp('red', 'black', 200, 200, 3000), C.buz(0, 1000, 0, 1)];
  }
}

export class OsdpBus extends EventEmitter<OsdpBusEvents> {
  private readonly settings: OsdpBusSettings;
  private readonly now: () => number;
  private readonly openPort: NonNullable<OsdpBusOptions['openPort']>;
  private readonly random: () => number;
  private readonly pds: Pd[];
  private readonly byId = new Map<string, Pd>();
  private readonly decoder = new OsdpDecoder({ staleMs: 100 });
  private readonly budget: ByteBudget;

  private running = false;
  private port: (SerialLike & { write(data: Buffer): unknown }) | undefined;
  private portOpen = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private openTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private floodTimer: NodeJS.Timeout | undefined;
  private floodEpisodes = 0;
  private inFlight: Transaction | undefined;
  /** Round-robin position. */
  private turn = 0;
  private readonly counts = { bytes: 0, floodBytes: 0, floods: 0, garbageBytes: 0, strayFrames: 0, opens: 0 };
  private released: Promise<void> = Promise.resolve();

  constructor(settings: OsdpBusSettings, options: OsdpBusOptions = {}) {
    super();
    this.settings = settings;
    this.now = options.now ?? (() => Date.now());
    this.openPort = options.openPort ?? defaultOpenPort;
    this.random = options.random ?? Math.random;
    const seen = new Set<number>();
    for (const r of settings.readers) {
      if (seen.has(r.address))
        throw new RangeError(`two readers at address ${r.address} on ${settings.path}`);
      seen.add(r.address);
    }
    this.pds = [];
    for (const r of settings.readers) this.pds.push(this.makePd(r));
    for (const pd of this.pds) this.byId.set(pd.s.id, pd);
    this.budget = new ByteBudget(settings.baudRate, settings.byteBudget ?? DEFAULT_BYTE_BUDGET);
  }

  /** Another reader on this bus (before `start()`; e.g. a door's second reader being commissioned). */
  addReader(r: OsdpReaderSettings): void {
    if (this.running) throw new Error('addReader: the bus is running');
    if (this.pds.some((p) => p.s.address === r.address || p.s.id === r.id))
      throw new RangeError(`reader ${r.id} or address ${r.address} is already on ${this.settings.path}`);
    const pd = this.makePd(r);
    this.pds.push(pd);
    this.byId.set(r.id, pd);
  }

  private makePd(s: OsdpReaderSettings): Pd {
    return {
      s,
      next: 0,
      startup: [...STARTUP],
      online: null,
      reason: 'starting',
      lastReplyAt: 0,
      lastSentAt: 0,
      queue: [],
      serial: null,
      tamper: undefined,
      power: undefined,
      lastSeen: new Map(),
      unsupported: new Set(),
      stats: {
        sent: 0,
        retries: 0,
        timeouts: 0,
        replies: 0,
        wrongSequence: 0,
        naks: {},
        badges: 0,
        suppressed: 0,
        rejectedCards: 0,
        feedbackSent: 0,
        feedbackDropped: 0,
        identity: null,
        capabilities: null,
      },
    };
  }

  get readerIds(): string[] {
    return this.pds.map((p) => p.s.id);
  }

  /** The serial number journaled for a reader before this start, so a swap across restarts is seen. */
  knownSerial(readerId: string, serial: string | null): void {
    const pd = this.byId.get(readerId);
    if (pd && pd.serial === null) pd.serial = serial;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    const at = this.now();
    for (const pd of this.pds) {
      pd.lastReplyAt = at;
      this.restart(pd);
    }
    void this.released.then(() => this.guard(() => this.connect()));
  }

  stop(): Promise<void> {
    if (!this.running) return this.released;
    this.running = false;
    for (const t of ['retryTimer', 'openTimer', 'pumpTimer', 'floodTimer'] as const) {
      if (this[t]) clearTimeout(this[t]);
      this[t] = undefined;
    }
    this.abort();
    this.closePort();
    return this.released;
  }

  /** A reader is receiving a reply (the WAL checkpoint waits for it). */
  receiving(): boolean {
    return this.running && this.decoder.pending;
  }

  /**
   * Show a decision on the reader: queued behind the transaction on the line, so it never delays a
   * decision. Dropped (and counted) when the reader is offline or does not support LED/BUZ.
   */
  feedback(readerId: string, kind: OsdpFeedback): void {
    const pd = this.byId.get(readerId);
    if (!pd) return;
    for (const cmd of feedbackCommands(kind)) {
      if (pd.online !== true || pd.unsupported.has(cmd.code)) {
        pd.stats.feedbackDropped++;
        continue;
      }
      if (pd.queue.length >= FEEDBACK_QUEUE) {
        pd.queue.shift();
        pd.stats.feedbackDropped++;
      }
      pd.queue.push(cmd);
    }
    this.schedulePump(0);
  }

  status(readerId: string): { online: boolean | null; reason: string } | undefined {
    const pd = this.byId.get(readerId);
    return pd && { online: pd.online, reason: pd.reason };
  }

  stats(): OsdpBusStats {
    return {
      path: this.settings.path,
      ...this.counts,
      flooding: this.budget.flooding,
      readers: this.pds.map((pd) => ({
        readerId: pd.s.id,
        address: pd.s.address,
        online: pd.online,
        reason: pd.reason,
        ...pd.stats,
        naks: { ...pd.stats.naks },
        unsupported: [...pd.unsupported].map((c) => C.codeName(c)),
      })),
    };
  }

  // --- the port ----------------------------------------------------------------------------------

  private connect(): void {
    if (!this.running || this.port || this.retryTimer) return;
    let port: SerialLike & { write(data: Buffer): unknown };
    try {
      port = this.openPort(this.settings.path, this.settings.baudRate);
    } catch (err) {
      this.portLost(err);
      return;
    }
    this.port = port;
    this.openTimer = setTimeout(
      () => this.guard(() => this.portLost(new Error('open timed out'))),
      OPEN_TIMEOUT_MS,
    );
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.guard(() => this.onData(chunk));
    });
    port.on('error', (err: Error) => {
      if (this.port === port) this.guard(() => this.portLost(err));
    });
    port.on('close', (err?: Error | null) => {
      if (this.port === port) this.guard(() => this.portLost(err ?? new Error('closed')));
    });
    port.open((err) =>
      this.guard(() => {
        if (this.port !== port) return;
        clearTimeout(this.openTimer);
        if (err) return this.portLost(err);
        this.portOpen = true;
        this.counts.opens++;
        this.attempt = 0;
        this.decoder.reset();
        this.schedulePump(0);
      }),
    );
  }

  private portLost(err: unknown): void {
    if (!this.running) return;
    clearTimeout(this.openTimer);
    this.abort();
    this.closePort();
    const reason = reasonOf(err);
    const at = this.now();
    for (const pd of this.pds) {
      this.setStatus(pd, false, reason, at);
      this.restart(pd);
    }
    const { initialMs, maxMs } = this.settings.reconnect;
    const delay = Math.round(backoffDelay(this.attempt++, initialMs, maxMs) * (1 - 0.2 * this.random()));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.released.then(() => this.guard(() => this.connect()));
    }, delay);
  }

  private closePort(): void {
    const port = this.port;
    this.port = undefined;
    this.portOpen = false;
    if (!port) return;
    const previous = this.released;
    const closing = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      try {
        if (port.isOpen)
          port.close(() => {
            clearTimeout(timer);
            resolve();
          });
        else {
          clearTimeout(timer);
          resolve();
        }
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
    this.released = Promise.all([previous, closing]).then(() => undefined);
  }

  // --- the transactions -------------------------------------------------------------------------

  private schedulePump(delay: number): void {
    if (!this.running) return;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined;
        this.guard(() => this.pump());
      },
      Math.max(0, Math.ceil(delay)),
    );
  }

  /** Start the next transaction if the line is free: the next reader due, round-robin. */
  private pump(): void {
    if (!this.running || !this.portOpen || this.inFlight) return;
    const at = this.now();
    let wait = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.pds.length; k++) {
      const pd = this.pds[(this.turn + k) % this.pds.length]!;
      // A reader answering its start-up goes straight on; one not answering at all waits longer.
      const starting = pd.startup.length > 0 && pd.startup[0] !== 'poll';
      const interval = pd.online === true ? pd.s.pollMs : Math.max(pd.s.pollMs, OFFLINE_RETRY_MS);
      const due = pd.lastSentAt === 0 ? at : pd.lastSentAt + interval;
      const urgent = starting || (pd.online === true && pd.queue.length > 0);
      if (urgent || due <= at) {
        this.turn = (this.turn + k + 1) % this.pds.length;
        this.begin(pd, at);
        return;
      }
      wait = Math.min(wait, due - at);
    }
    if (Number.isFinite(wait)) this.schedulePump(wait);
  }

  private begin(pd: Pd, at: number): void {
    let purpose: Transaction['purpose'];
    let command: C.Command;
    if (pd.startup.length > 0) {
      purpose = pd.startup[0]!;
      command = { poll: C.poll, id: C.id, cap: C.cap, lstat: C.lstat }[purpose]();
    } else if (pd.queue.length > 0) {
      purpose = 'feedback';
      command = pd.queue.shift()!;
    } else {
      purpose = 'poll';
      command = C.poll();
    }
    const sequence = pd.next;
    const frame: OsdpFrame = {
      address: pd.s.address,
      reply: false,
      sequence,
      crc: true,
      code: command.code,
      data: command.data,
    };
    const tx: Transaction = {
      reader: pd,
      command,
      purpose,
      sequence,
      bytes: encodeFrame(frame),
      timer: undefined,
    };
    this.inFlight = tx;
    this.send(tx, at);
  }

  private send(tx: Transaction, at: number): void {
    const pd = tx.reader;
    pd.lastSentAt = at;
    pd.stats.sent++;
    if (tx.purpose === 'feedback') pd.stats.feedbackSent++;
    // Half duplex: whatever is in the decoder now is not the reply to this command.
    this.noteDecoder(this.decoder.reset());
    try {
      this.port?.write(tx.bytes);
    } catch (err) {
      this.portLost(err);
      return;
    }
    tx.timer = setTimeout(() => this.guard(() => this.timedOut(tx)), pd.s.replyTimeoutMs);
  }

  /** No reply in time: the same bytes again (same sequence), unless the reader is now offline. */
  private timedOut(tx: Transaction): void {
    if (this.inFlight !== tx) return;
    const pd = tx.reader;
    pd.stats.timeouts++;
    const at = this.now();
    if (at - pd.lastReplyAt >= pd.s.offlineAfterMs) {
      this.inFlight = undefined;
      if (pd.online !== false || pd.reason !== 'silent') this.setStatus(pd, false, 'silent', at);
      this.restart(pd);
      this.schedulePump(0);
      return;
    }
    if (pd.online !== true && tx.purpose === 'poll' && pd.startup[0] === 'poll') {
      // Not answering its first POLL: let the other readers have the line between tries (the next
      // try is the same frame, sequence 0).
      this.inFlight = undefined;
      this.schedulePump(0);
      return;
    }
    pd.stats.retries++;
    this.send(tx, at);
  }

  /** Back to sequence 0 and the start-up; feedback for the old session is dropped. */
  private restart(pd: Pd): void {
    pd.next = 0;
    pd.startup = [...STARTUP];
    pd.stats.feedbackDropped += pd.queue.length;
    pd.queue = [];
  }

  private abort(): void {
    const tx = this.inFlight;
    if (tx?.timer) clearTimeout(tx.timer);
    this.inFlight = undefined;
  }

  // --- what comes back --------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    const at = this.now();
    this.counts.bytes += chunk.length;
    switch (this.budget.take(chunk.length, at)) {
      case 'decode':
        break;
      case 'flood':
        this.counts.floodBytes += chunk.length;
        this.floodBegins(at);
        return;
      case 'drop':
        this.counts.floodBytes += chunk.length;
        return;
      case 'resume':
        this.floodEnds(at);
        break;
    }
    for (const e of this.decoder.push(chunk, at)) {
      if (e.kind === 'dropped') this.noteDecoder([e]);
      else this.onFrame(e.frame, at);
    }
  }

  private noteDecoder(events: DecoderEvent[]): void {
    for (const e of events) if (e.kind === 'dropped') this.counts.garbageBytes += e.bytes;
  }

  private onFrame(frame: OsdpFrame, at: number): void {
    const tx = this.inFlight;
    if (!tx || !frame.reply || frame.address !== tx.reader.s.address) {
      this.counts.strayFrames++;
      return;
    }
    const pd = tx.reader;
    if (frame.sequence !== tx.sequence) {
      // Not the answer to this command (a late or confused reply): wait for the right one or the timeout.
      pd.stats.wrongSequence++;
      return;
    }
    if (frame.security) {
      // A secure reply on a plain session: not ours to read. The timeout repeats the command.
      this.counts.strayFrames++;
      return;
    }
    clearTimeout(tx.timer);
    this.inFlight = undefined;
    pd.stats.replies++;
    pd.lastReplyAt = at;
    if (frame.code === C.REPLY.BUSY) {
      // The reader asks for the same command again later, same sequence.
      this.inFlight = tx;
      tx.timer = setTimeout(
        () => this.guard(() => this.inFlight === tx && this.send(tx, this.now())),
        pd.s.pollMs,
      );
      return;
    }
    pd.next = nextSequence(tx.sequence);
    if (frame.code === C.REPLY.NAK) this.onNak(pd, tx, frame.data, at);
    else {
      if (pd.startup[0] === tx.purpose) pd.startup.shift();
      this.onReply(pd, frame, at);
      if (pd.startup.length === 0 && pd.online !== true) this.setStatus(pd, true, 'polling', at);
    }
    this.schedulePump(0);
  }

  private onNak(pd: Pd, tx: Transaction, data: Buffer, at: number): void {
    const nak = C.parseNak(data);
    const code = typeof nak === 'string' ? -1 : nak.code;
    const name = typeof nak === 'string' ? 'malformed' : nak.name;
    pd.stats.naks[name] = (pd.stats.naks[name] ?? 0) + 1;
    this.emitSafely('nak', { readerId: pd.s.id, command: C.codeName(tx.command.code), code, name, at });
    switch (code) {
      case C.NAK_CODE.SEQUENCE:
        // The reader lost track (it restarted, or saw a repeat it did not expect): start over.
        this.restart(pd);
        return;
      case C.NAK_CODE.CHECK:
        // The command arrived damaged: send it again (a new transaction, next sequence).
        if (tx.purpose === 'feedback') pd.queue.unshift(tx.command);
        return;
      case C.NAK_CODE.UNKNOWN_COMMAND:
        // Noted and not sent again; a start-up step the reader does not have is skipped.
        if (tx.command.code !== C.CMD.POLL) pd.unsupported.add(tx.command.code);
        if (pd.startup[0] === tx.purpose) pd.startup.shift();
        if (pd.startup.length === 0 && pd.online !== true) this.setStatus(pd, true, 'polling', at);
        return;
      case C.NAK_CODE.SECURITY_UNSUPPORTED:
      case C.NAK_CODE.SECURITY_REQUIRED:
        // The reader insists on a Secure Channel, which this version does not speak.
        this.setStatus(pd, false, 'secure_channel_required', at);
        this.restart(pd);
        return;
      default:
        if (pd.startup[0] === tx.purpose) pd.startup.shift();
        if (pd.startup.length === 0 && pd.online !== true) this.setStatus(pd, true, 'polling', at);
    }
  }

  private onReply(pd: Pd, frame: OsdpFrame, at: number): void {
    switch (frame.code) {
      case C.REPLY.ACK:
        return;
      case C.REPLY.PDID: {
        const id = C.parsePdId(frame.data);
        if (typeof id === 'string') return;
        const replaces = pd.serial !== null && pd.serial !== id.serial ? pd.serial : null;
        pd.serial = id.serial;
        pd.stats.identity = id;
        this.emitSafely('identified', { readerId: pd.s.id, address: pd.s.address, ...id, replaces, at });
        return;
      }
      case C.REPLY.PDCAP: {
        const caps = C.parsePdCap(frame.data);
        if (typeof caps !== 'string') pd.stats.capabilities = caps;
        return;
      }
      case C.REPLY.LSTATR: {
        const st = C.parseLocalStatus(frame.data);
        if (typeof st === 'string') return;
        this.setTamper(pd, st.tamper, at);
        this.setPower(pd, st.power, at);
        return;
      }
      case C.REPLY.RAW: {
        const raw = C.parseRaw(frame.data);
        if (typeof raw === 'string') {
          pd.stats.rejectedCards++;
          return;
        }
        this.card(pd, this.rawCredential(pd, raw), at);
        return;
      }
      case C.REPLY.FMT: {
        const fmt = C.parseFmt(frame.data);
        if (typeof fmt === 'string') {
          pd.stats.rejectedCards++;
          return;
        }
        this.card(pd, this.lineCredential(pd, fmt.text), at);
        return;
      }
      default:
        // KEYPAD, ISTATR, COM …: nothing Sekisho acts on yet.
        return;
    }
  }

  /**
   * The credential path of the other readers: 26 and 34 bits with valid parity are Wiegand
   * (`W26:f:c`, as from the bridge board); whole bytes otherwise are the card's number in hex, a
   * `line` credential checked against the reader's linePattern (as from a line reader).
   */
  private rawCredential(pd: Pd, raw: C.RawCard): { credential: string; format: string } | undefined {
    if (raw.bitCount === 26 || raw.bitCount === 34) {
      const w = decodeWiegandBits(raw.bits);
      return w.ok ? { credential: w.credential, format: w.format } : undefined;
    }
    if (raw.bitCount % 8 !== 0) return undefined;
    let hex = '';
    for (let i = 0; i < raw.bits.length; i += 4)
      hex += (
        (raw.bits[i]! << 3) |
        (raw.bits[i + 1]! << 2) |
        (raw.bits[i + 2]! << 1) |
        raw.bits[i + 3]!
      ).toString(16);
    return this.lineCredential(pd, hex);
  }

  private lineCredential(pd: Pd, text: string): { credential: string; format: string } | undefined {
    try {
      const parsed = parseCredential(text, 'line', { linePattern: pd.s.linePattern });
      return { credential: parsed.credential, format: parsed.format };
    } catch (err) {
      if (err instanceof CredentialError) return undefined;
      throw err;
    }
  }

  private card(pd: Pd, read: { credential: string; format: string } | undefined, at: number): void {
    if (!read) {
      pd.stats.rejectedCards++;
      return;
    }
    const last = pd.lastSeen.get(read.credential);
    pd.lastSeen.set(read.credential, at);
    if (last !== undefined && at - last >= 0 && at - last < pd.s.repeatSuppressMs) {
      pd.stats.suppressed++;
      return;
    }
    if (pd.lastSeen.size > 64)
      for (const [k, seen] of pd.lastSeen)
        if (!(at - seen >= 0 && at - seen < pd.s.repeatSuppressMs)) pd.lastSeen.delete(k);
    pd.stats.badges++;
    this.emitSafely('badge', { readerId: pd.s.id, credential: read.credential, format: read.format, at });
  }

  private setTamper(pd: Pd, active: boolean, at: number): void {
    if (pd.tamper === active) return;
    const first = pd.tamper === undefined;
    pd.tamper = active;
    if (first && !active) return;
    this.emitSafely('tamper', { readerId: pd.s.id, active, at });
  }

  private setPower(pd: Pd, failing: boolean, at: number): void {
    if (pd.power === failing) return;
    const first = pd.power === undefined;
    pd.power = failing;
    if (first && !failing) return;
    this.emitSafely('power', { readerId: pd.s.id, failing, at });
  }

  // --- flood guard ------------------------------------------------------------------------------

  private floodBegins(at: number): void {
    this.counts.floods++;
    const episode = this.budget.episode;
    if (episode === 1 && this.floodEpisodes > 0) this.floodSettled(at);
    this.floodEpisodes = episode;
    this.noteDecoder(this.decoder.reset());
    const flood: FloodEpisode = { episode, coolDownMs: this.budget.coolDownMs };
    for (const pd of this.pds) {
      pd.online = false;
      pd.reason = 'flood';
      this.restart(pd);
      this.emitSafely('status', { readerId: pd.s.id, online: false, reason: 'flood', flood, at });
    }
    this.armFloodTimer(at);
  }

  private floodEnds(at: number): void {
    if (this.floodTimer) clearTimeout(this.floodTimer);
    this.floodTimer = undefined;
    this.noteDecoder(this.decoder.reset());
    // Each reader comes back through its start-up; one that stays silent goes `silent`.
    for (const pd of this.pds) pd.lastReplyAt = Math.max(pd.lastReplyAt, at);
    this.armFloodTimer(at);
  }

  private floodSettled(at: number): void {
    const episodes = this.floodEpisodes;
    this.floodEpisodes = 0;
    for (const pd of this.pds) this.emitSafely('floodSettled', { readerId: pd.s.id, episodes, at });
  }

  private armFloodTimer(at: number): void {
    if (this.floodTimer) clearTimeout(this.floodTimer);
    this.floodTimer = undefined;
    if (!this.running) return;
    let delay: number;
    if (this.budget.flooding) delay = this.budget.msUntilResume(at);
    else if (this.floodEpisodes > 0) delay = this.budget.msUntilSettled(at);
    else return;
    this.floodTimer = setTimeout(
      () => {
        this.floodTimer = undefined;
        this.guard(() => {
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

  // --- plumbing ---------------------------------------------------------------------------------

  private setStatus(pd: Pd, online: boolean, reason: string, at: number): void {
    if (!this.running) return;
    if (this.budget.flooding) return; // the flood's status stands until the reader speaks again
    const changed = pd.online !== online || (!online && pd.reason !== reason);
    pd.online = online;
    pd.reason = reason;
    if (changed) this.emitSafely('status', { readerId: pd.s.id, online, reason, at });
  }

  private emitSafely<K extends keyof OsdpBusEvents>(event: K, ...args: OsdpBusEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: OsdpBusEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      process.emitWarning(
        `osdp ${this.settings.path}: a '${String(event)}' listener threw: ${reasonOf(err)}`,
        {
          code: 'SEKISHO_READER_LISTENER',
        },
      );
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      process.emitWarning(`osdp ${this.settings.path}: ${reasonOf(err)}`, {
        code: 'SEKISHO_READER_INTERNAL',
      });
    }
  }
}
