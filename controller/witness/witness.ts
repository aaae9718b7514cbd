/**
 * `sekisho witness`: a small, long-running MQTT subscriber meant to run on another machine, by
 * someone without root on the Pi. It keeps an append-only history (history.ts) of every signed
 * checkpoint and of each event's seq/hash/prevHash, checks each message (state.ts), and raises its
 * own alarm — a log line, a retained MQTT message on `<base>/witness/alarm`, a line in the history
 * and the exit status — when the controller's journal does not extend what it saw. It needs none
 * of the controller's config, storage or keys: only the broker, the pinned public key and its file.
 */

import type { KeyObject } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  EXIT_WITNESS_ALARM,
  EXIT_WITNESS_HISTORY,
} from '../cli/exit-codes.js';
import { plainPasswordHost } from '../config/index.js';
import { publicKeyId } from '../journal/index.js';
import type { Logger } from '../log.js';
import { brokerAddress } from '../mqtt/broker.js';
import { isoOf } from '../mqtt/payloads.js';
import { readSecretFile } from '../secret-files.js';
import {
  formatLine,
  HISTORY_FORMAT,
  type HistoryEntry,
  HistoryError,
  lineHash,
  readHistoryFile,
  ZERO_HASH,
} from './history.js';
import { type Finding, WitnessState } from './state.js';

/** Exit codes of `sekisho witness` (docs/journal.md, "The witness"). */
export const WITNESS_EXIT = {
  ok: EXIT_OK,
  failure: EXIT_FAILED,
  usage: EXIT_USAGE,
  /** The history file fails its own check, belongs to another controller or key, or is in use. */
  history: EXIT_WITNESS_HISTORY,
  /** Stopped after an alarm (at once with --exit-on-alarm, else at the next SIGTERM). */
  alarm: EXIT_WITNESS_ALARM,
} as const;

export interface WitnessOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  broker: string;
  topicPrefix: string;
  controller: string;
  publicKey: KeyObject;
  history: string;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  username?: string | undefined;
  passwordFile?: string | undefined;
  clientId: string;
  exitOnAlarm: boolean;
}

/** A witness that cannot start: the message says what and why (never a secret). */
export class WitnessSetupError extends Error {
  override name = 'WitnessSetupError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const CheckpointMessage = z.object({
  seq: z.int().positive(),
  hash: Hex64,
  at: z.int().nonnegative(),
  controller: z.string(),
  signature: z.string(),
  keyId: z.string(),
});
const EventMessage = z.object({
  seq: z.int().positive(),
  hash: Hex64,
  prevHash: Hex64,
  at: z.int().nonnegative(),
  type: z.string().max(100),
  /** The hashed bytes: the witness recomputes the hash from them (feed-verify.ts). */
  bytes: z.string().nullable().optional(),
  withheld: z.string().nullable().optional(),
});

const FLUSH_MS = 200;
const FLUSH_LINES = 100;

/** Appends lines to the history: written and fsynced in small batches, alarms at once. */
export class HistoryWriter {
  #fd: number;
  #n: number;
  #prev: string;
  #pending: string[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(
    file: string,
    lines: number,
    lastHash: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.#fd = openSync(file, 'a', 0o640);
    this.#n = lines;
    this.#prev = lastHash;
  }

  get lines(): number {
    return this.#n;
  }

  /** Adds a line; returns its number. */
  append(entry: HistoryEntry, rx: number, now = false): number {
    this.#n++;
    const text = formatLine(this.#n, this.#prev, rx, entry);
    this.#prev = lineHash(text);
    this.#pending.push(`${text}\n`);
    if (now || this.#pending.length >= FLUSH_LINES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    return this.#n;
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const data = Buffer.from(this.#pending.join(''), 'utf8');
    this.#pending = [];
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.#fd, data, off);
      fsyncSync(this.#fd);
    } catch (err) {
      this.onError(err as Error);
    }
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

/** An exclusive lock beside the history (`<history>.lock`, holding the pid), so two witnesses never append. */
function takeLock(history: string): () => void {
  const lock = `${history}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o640);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      let alive = false;
      if (Number.isSafeInteger(pid) && pid > 0)
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
      if (alive)
        throw new WitnessSetupError(
          `another witness (pid ${pid}) is writing ${history} (lock ${lock})`,
          WITNESS_EXIT.history,
        );
      unlinkSync(lock); // left by a witness that died
    }
  }
  throw new WitnessSetupError(`cannot take the lock ${lock}`, WITNESS_EXIT.history);
}

/** The base topic watched: `<prefix>/<controller>`, as the controller publishes by default. */
export function witnessBase(opts: Pick<WitnessOptions, 'topicPrefix' | 'controller'>): string {
  return `${opts.topicPrefix}/${opts.controller}`;
}

export interface RunningWitness {
  /** Resolves with the exit code once the witness has stopped. */
  done: Promise<number>;
  /** Clean stop (SIGTERM): the history flushed and closed, the session kept at the broker. */
  stop(reason: string): void;
}

/**
 * Opens (or creates) the history, checks it line by line, rebuilds what it saw, takes the lock and
 * connects. Throws WitnessSetupError when it cannot start.
 */
export function startWitness(opts: WitnessOptions, log: Logger, version: string): RunningWitness {
  const base = witnessBase(opts);
  const keyId = publicKeyId(opts.publicKey);
  const state = new WitnessState(opts.controller, opts.publicKey);

  const clientOptions: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: 4,
    clean: false,
    keepalive: 30,
    reconnectPeriod: 5000,
    connectTimeout: 10_000,
    resubscribe: true,
  };
  let url: URL;
  try {
    url = new URL(opts.broker);
  } catch {
    throw new WitnessSetupError(
      `--broker: ${opts.broker} is not a URL (mqtt://host:port or mqtts://host:port)`,
      2,
    );
  }
  if ((url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') || url.hostname === '')
    throw new WitnessSetupError('--broker: expected mqtt://host[:port] or mqtts://host[:port]', 2);
  if (url.username || url.password)
    throw new WitnessSetupError(
      '--broker: put no credentials in the URL; use --username and --password-file',
      2,
    );
  const exposed = plainPasswordHost({ url: opts.broker, passwordFile: opts.passwordFile });
  if (exposed !== null)
    throw new WitnessSetupError(
      `refusing to send the broker password in clear text to ${exposed} (mqtt://): use mqtts:// with --ca`,
      2,
    );
  if (url.protocol === 'mqtt:' && (opts.ca || opts.cert || opts.key))
    throw new WitnessSetupError('--ca, --cert and --key need an mqtts:// broker', 2);
  if (opts.username !== undefined) clientOptions.username = opts.username;
  const secret = (file: string, what: string) => {
    try {
      return readSecretFile(file, { access: 'group' });
    } catch (err) {
      throw new WitnessSetupError(`${what}: ${(err as Error).message}`, 2);
    }
  };
  const pem = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new WitnessSetupError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, 2);
    }
  };
  if (opts.passwordFile !== undefined) {
    const password = secret(opts.passwordFile, '--password-file').split(/\r?\n/)[0] ?? '';
    if (password === '') throw new WitnessSetupError(`--password-file: ${opts.passwordFile} is empty`, 2);
    clientOptions.password = password;
  }
  if (url.protocol === 'mqtts:') {
    clientOptions.rejectUnauthorized = true;
    if (opts.ca) clientOptions.ca = pem(opts.ca, '--ca');
    if (opts.cert) clientOptions.cert = pem(opts.cert, '--cert');
    if (opts.key) clientOptions.key = Buffer.from(secret(opts.key, '--key'));
  }

  // The history: checked line by line, replayed into the state; a new one gets its header.
  let lines = 0;
  let lastHash = ZERO_HASH;
  const fresh = !existsSync(opts.history) || statSync(opts.history).size === 0;
  if (!fresh) {
    try {
      const r = readHistoryFile(opts.history, (l) => state.replay(l));
      lines = r.lines;
      lastHash = r.lastHash;
      const h = r.header;
      if (h.controller !== opts.controller || h.topic !== base)
        throw new WitnessSetupError(
          `${opts.history} is the history of controller ${h.controller} on ${h.topic}, not ${opts.controller} on ${base}: give another --history`,
          WITNESS_EXIT.history,
        );
      if (h.keyId !== keyId)
        throw new WitnessSetupError(
          `${opts.history} was kept with public key ${h.keyId}, but --public-key is ${keyId}: a new device key needs a new history`,
          WITNESS_EXIT.history,
        );
    } catch (err) {
      if (err instanceof HistoryError)
        throw new WitnessSetupError(
          `refusing the history ${opts.history}: ${err.message}. It is evidence: keep it as it is, and start a new history in another file`,
          WITNESS_EXIT.history,
        );
      throw err;
    }
  }
  if (!existsSync(dirname(opts.history)))
    throw new WitnessSetupError(
      `--history: the folder ${dirname(opts.history)} does not exist`,
      WITNESS_EXIT.usage,
    );
  const unlock = takeLock(opts.history);
  let failed: Error | null = null;
  let stopping = false;
  let writer: HistoryWriter;
  try {
    writer = new HistoryWriter(opts.history, lines, lastHash, (err) => {
      failed ??= err;
      log.error('witness: cannot write the history', { file: opts.history, error: String(err) });
      stop('history write failed');
    });
  } catch (err) {
    unlock();
    throw new WitnessSetupError(
      `cannot open ${opts.history}: ${(err as Error).message}`,
      WITNESS_EXIT.failure,
    );
  }
  const now = () => Date.now();
  if (fresh)
    writer.append(
      { kind: 'history', format: HISTORY_FORMAT, controller: opts.controller, topic: base, keyId },
      now(),
      true,
    );
  const { host, port } = brokerAddress(opts.broker);
  writer.append(
    { kind: 'started', broker: `${host}:${port}`, clientId: opts.clientId, version },
    now(),
    true,
  );
  log.info('witness started', {
    history: opts.history,
    lines: writer.lines,
    events: state.events.size,
    checkpoints: state.checkpoints.size,
    broker: `${host}:${port}`,
    base,
  });

  const topics = {
    checkpoint: `${base}/journal/checkpoint`,
    events: `${base}/events`,
    alarm: `${base}/witness/alarm`,
  };
  const client: MqttClient = connect(opts.broker, clientOptions);
  let alarmed = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });

  let lastError = '';
  client.on('connect', (ack) => {
    lastError = '';
    log.info('witness connected', { sessionPresent: ack.sessionPresent });
    client.subscribe({ [topics.checkpoint]: { qos: 1 }, [topics.events]: { qos: 1 } }, (err, granted) => {
      if (err) log.error('witness: subscribe failed', { error: err.message });
      else if (granted?.some((g) => g.qos === 128))
        log.error('witness: the broker refused a subscription (check its ACL)', {
          topics: granted.filter((g) => g.qos === 128).map((g) => g.topic),
        });
      else log.info('witness subscribed', { topics: [topics.checkpoint, topics.events] });
    });
  });
  client.on('error', (err) => {
    if (err.message !== lastError) log.warn('witness: broker connection problem', { error: err.message });
    lastError = err.message;
  });

  const raise = (f: Finding, rx: number) => {
    alarmed = true;
    const n = writer.append({ kind: 'alarm', ...f }, rx, true);
    log.error(`WITNESS ALARM ${f.alarm}: ${f.detail}`, { seq: f.seq, historyLine: n });
    const payload = JSON.stringify({
      v: 1,
      alarm: f.alarm,
      controller: opts.controller,
      seq: f.seq,
      detail: f.detail,
      at: rx,
      time: isoOf(rx),
      witness: opts.clientId,
      historyLine: n,
    });
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      client.publish(topics.alarm, payload, { qos: 1, retain: true }, (err) => {
        clearTimeout(timer);
        if (err) log.error('witness: could not publish the alarm', { error: err.message });
        resolve();
      });
    });
  };

  client.on('message', (topic, payload) => {
    if (stopping) return;
    const rx = now();
    if (payload.length === 0) return; // a retained message cleared
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      log.warn('witness: a message that is not JSON was ignored', { topic });
      return;
    }
    let findings: Finding[];
    if (topic === topics.checkpoint) {
      const cp = CheckpointMessage.safeParse(value);
      if (!cp.success) {
        log.warn('witness: a malformed checkpoint message was ignored', { topic });
        return;
      }
      const o = state.observeCheckpoint(cp.data);
      if (o.record) writer.append({ kind: 'checkpoint', checkpoint: cp.data }, rx);
      findings = o.findings;
    } else if (topic === topics.events) {
      const ev = EventMessage.safeParse(value);
      if (!ev.success) {
        log.warn('witness: a malformed event message was ignored', { topic });
        return;
      }
      const o = state.observeRow(ev.data);
      if (o.record && o.row) {
        // The line keeps what the recomputed bytes say (type and time), not the message's view.
        const { seq, hash, prevHash, at, type } = o.row;
        writer.append({ kind: 'event', seq, hash, prevHash, at, type }, rx);
      }
      findings = o.findings;
    } else return;
    if (findings.length === 0) return;
    const published = Promise.all(findings.map((f) => raise(f, rx)));
    if (opts.exitOnAlarm) void published.then(() => stop('alarm (--exit-on-alarm)'));
  });

  function stop(reason: string): void {
    if (stopping) return;
    stopping = true;
    try {
      if (!failed) {
        writer.append({ kind: 'stopped', reason }, now(), true);
        writer.close();
      }
    } catch (err) {
      failed ??= err as Error;
    }
    unlock();
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      const r = state.report();
      // "Verified up to": the chain recomputed from genesis; rows never received (a witness started
      // late) stop it, and are counted as gaps.
      log.info('witness stopped', {
        reason,
        lines: writer.lines,
        verifiedSeq: r.verified.seq,
        verifiedHash: r.verified.hash,
        signedSeq: r.signed?.seq ?? null,
        gaps: r.gaps.length,
      });
      resolveDone(failed ? WITNESS_EXIT.failure : alarmed ? WITNESS_EXIT.alarm : WITNESS_EXIT.ok);
    };
    // A normal disconnect: the broker keeps the session (clean: false) and queues what comes meanwhile.
    const timer = setTimeout(() => {
      client.end(true);
      finish();
    }, 2000);
    client.end(false, {}, () => {
      clearTimeout(timer);
      finish();
    });
  }

  return { done, stop };
}
