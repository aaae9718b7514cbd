/**
 * A test consumer: an mqtt.js client that subscribes with QoS 1 and records every message, like the
 * city's monitoring would. `persistent` uses a fixed client id and a persistent session (clean:
 * false), so the broker queues QoS 1 messages for it while it is away — or while the broker restarts.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { createLogger } from '../../controller/log.js';
import { Controller, type ControllerOptions } from '../../controller/runtime/index.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders, tempDir, until } from '../helpers/controller.js';

export interface Received {
  topic: string;
  text: string;
  json: unknown;
  retain: boolean;
}

export class Consumer {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      this.messages.push({ topic, text, json, retain: packet.retain });
    });
  }

  static async connect(
    url: string,
    topics: string[],
    opts: IClientOptions & { persistent?: string } = {},
  ): Promise<Consumer> {
    const { persistent, ...rest } = opts;
    const client = connect(url, {
      reconnectPeriod: 200,
      connectTimeout: 5000,
      ...(persistent ? { clientId: persistent, clean: false } : {}),
      ...rest,
    });
    const consumer = new Consumer(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(topics, { qos: 1 });
    return consumer;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** The JSON payloads on a topic, in arrival order. */
  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.on(topic).map((m) => m.json as T);
  }

  last<T = Record<string, unknown>>(topic: string): T | undefined {
    const all = this.json<T>(topic);
    return all[all.length - 1];
  }

  async waitFor<T>(fn: () => T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
    return until(fn, what, timeoutMs);
  }

  async end(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** The seqs of a topic's messages with duplicates dropped (first occurrence kept). */
export function dedupedSeqs(messages: { seq: number }[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const m of messages)
    if (!seen.has(m.seq)) {
      seen.add(m.seq);
      out.push(m.seq);
    }
  return out;
}

export function isIncreasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

/** An in-process controller (real SQLite journal, simulated board) publishing to `mqtt`. */
export async function startMqttController(
  mqtt: Record<string, unknown>,
  opts: { id?: string; dir?: string; extra?: Record<string, unknown> } & Pick<
    ControllerOptions,
    'mqttTuning'
  > = {},
) {
  const dir = opts.dir ?? tempDir('sekisho-mqtt-');
  const cfg = doorConfig(dir, simReaders(), {
    controller: { id: opts.id ?? 'test-ctl' },
    // headWaitS 1: a test whose broker is down at start waits 1 s for the retained head, not 5.
    mqtt: { reconnectS: 1, headWaitS: 1, ...mqtt },
    ...opts.extra,
  });
  const config = parseConfig(stringify(cfg));
  const board = new SimBoard();
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
  const c = await Controller.start({
    loaded: { config, file: join(dir, 'config.yaml'), storageDir: join(dir, 'data') },
    board,
    log,
    mqttTuning: opts.mqttTuning,
  });
  return { c, board, dir, logLines, base: `sekisho/${config.controller.id}` };
}

/** Outbox seqs of a journal file, read-only (another process may have it open). */
export function outboxSeqs(dbFile: string): number[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM outbox ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
}
