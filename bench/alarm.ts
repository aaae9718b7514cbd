/**
 * Forced door → alarm acknowledged by the broker: the door contact opens while the door is locked
 * (SimBoard input, debounce 0), the controller commits `door_opened` and `alarm_raised` (with its
 * outbox row), the MQTT publisher sends the alarm with QoS 1, and Mosquitto's PUBACK arrives.
 *
 * The PUBACK is observed in this process by wrapping mqtt.js's `MqttClient.prototype.publish` for
 * the `…/alarms` topic: the publisher's own completion callback is what fires on PUBACK. The
 * product's code is not changed.
 */
import { MqttClient } from 'mqtt';
import { isRecordOf } from '../controller/domain/index.js';
import type { Controller } from '../controller/runtime/index.js';
import type { SimBoard } from '../hardware/index.js';
import { DOOR } from './lib/dataset.js';
import { now, sleep } from './lib/stats.js';

type PublishFn = (
  topic: string,
  message: string | Buffer,
  opts?: unknown,
  cb?: (err?: Error) => void,
) => MqttClient;

let probe: ((alarmEvent: string, alarmId: number, t: number) => void) | null = null;
let installed = false;

/** Wraps MqttClient.prototype.publish once: PUBACKs of alarm messages are reported to `probe`. */
export function installPubackProbe(): void {
  if (installed) return;
  installed = true;
  const proto = MqttClient.prototype as unknown as { publish: PublishFn };
  const original = proto.publish;
  proto.publish = function (this: MqttClient, topic, message, opts, cb) {
    if (typeof cb === 'function' && topic.endsWith('/alarms') && probe) {
      let meta: { event?: string; alarmId?: number } = {};
      try {
        meta = JSON.parse(String(message)) as typeof meta;
      } catch {
        // not JSON: not ours to time
      }
      const done = cb;
      cb = (err?: Error) => {
        if (!err && probe && meta.event && typeof meta.alarmId === 'number')
          probe(meta.event, meta.alarmId, now());
        done(err);
      };
    }
    return original.call(this, topic, message, opts, cb);
  };
}

export interface AlarmResult {
  /** Contact opened → the PUBACK of the `raised` alarm message, ms. */
  puback: number[];
  /** Contact opened → the alarm_raised row committed, ms. */
  commit: number[];
  missing: number;
}

/** Waits until the publisher's backlog is empty (everything PUBACKed and removed). */
async function drained(c: Controller, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (c.mqtt?.status().backlog === 0) return true;
    await sleep(5);
  }
  return false;
}

export async function forcedDoorToPuback(
  controller: Controller,
  board: SimBoard,
  n: number,
): Promise<AlarmResult> {
  installPubackProbe();
  const res: AlarmResult = { puback: [], commit: [], missing: 0 };
  if (!controller.mqtt) throw new Error('MQTT is not configured');
  const end = Date.now() + 10_000;
  while (!controller.mqtt.status().connected && Date.now() < end) await sleep(20);
  if (!controller.mqtt.status().connected) throw new Error('the publisher did not connect to the broker');
  let raisedAt: { seq: number; t: number } | null = null;
  controller.onRow((row) => {
    if (isRecordOf(row, 'alarm_raised') && row.data.alarm === 'forced_open')
      raisedAt = { seq: row.seq, t: now() };
  });
  for (let i = 0; i < n; i++) {
    await drained(controller);
    await sleep(2);
    raisedAt = null;
    let acked: ((t: number) => void) | null = null;
    const pubacked = new Promise<number>((resolve) => {
      acked = resolve;
    });
    probe = (event, alarmId, t) => {
      const r = raisedAt as { seq: number; t: number } | null;
      if (event === 'raised' && r && alarmId === r.seq) acked?.(t);
    };
    const t0 = now();
    board.simulate(`${DOOR}.contact`, true);
    const t1 = await Promise.race([pubacked, sleep(3000).then(() => Number.NaN)]);
    probe = null;
    const r = raisedAt as { seq: number; t: number } | null;
    if (Number.isFinite(t1) && r) {
      res.puback.push(t1 - t0);
      res.commit.push(r.t - t0);
    } else res.missing++;
    // Close the door and acknowledge, so the next forced opening is a new alarm.
    board.simulate(`${DOOR}.contact`, false);
    if (r) controller.acknowledgeAlarm(r.seq, 'bench', 'bench');
  }
  await drained(controller);
  return res;
}
