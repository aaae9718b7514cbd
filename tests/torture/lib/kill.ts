/**
 * kill -9 at random moments of a real `sekisho start` under a storm: badges over HTTP (the sim exit
 * reader, each answer acknowledged with its seq) and RDM6300 frames into a real pty (the entry
 * reader), door contact, exit button and tamper changes — and, with MQTT, broker outages. After every
 * kill (a power cut as far as the process can tell) the files are checked as they were left; after
 * every restart the door must be secured. At the end every row, and every alarm, must have reached
 * a persistent QoS 1 subscriber through Mosquitto.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { encodeRdm6300Frame } from '../../../firmware-bridge/index.js';
import { doorConfig, tempDir, writeConfig } from '../../helpers/controller.js';
import type { Mosquitto } from '../../helpers/mosquitto.js';
import { makePtyPair } from '../../helpers/pty.js';
import {
  api,
  checkStorage,
  DOOR,
  enrolStaff,
  type Proc,
  percentiles,
  rng,
  type StorageCheck,
  sleep,
  spawnController,
} from './common.js';

export interface KillOptions {
  kills: number;
  seed: number;
  /** A running broker: the controller publishes to it and a subscriber checks delivery. */
  broker?: Mosquitto | null;
  /** Stop and restart the broker during some storms. */
  brokerOutages?: boolean;
  log?: (s: string) => void;
}

export interface KillResult {
  seed: number;
  kills: number;
  killedDuringStartup: number;
  acknowledged: number;
  frames: number;
  doorChanges: number;
  rows: number;
  integrityFailures: number;
  verifyFailures: number;
  unlocksWithoutGrant: number;
  missingAcks: number;
  notSecuredAtStart: number;
  startupMs: ReturnType<typeof percentiles>;
  checkMs: ReturnType<typeof percentiles>;
  mqtt: {
    outages: number;
    rows: number;
    eventsMissing: number;
    alarms: number;
    alarmsMissing: number;
    drainMs: number;
  } | null;
  failures: string[];
}

const UNKNOWN = ['DEADBEEF00', '0000000001', 'FFFFFFFFFF'];

export async function killStorm(opts: KillOptions): Promise<KillResult> {
  const log = opts.log ?? (() => undefined);
  const rand = rng(opts.seed);
  const dir = tempDir('sekisho-torture-kill-');
  const storage = join(dir, 'data');
  const pty = await makePtyPair(join(dir, 'pty'));
  const broker = opts.broker ?? null;
  const cfg = doorConfig(
    dir,
    [
      { id: 'entry', path: pty.b, protocol: 'rdm6300', repeatSuppressMs: 0 },
      { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
    ],
    broker ? { mqtt: { url: broker.url, reconnectS: 1, homeAssistant: { enabled: false } } } : {},
  );
  // Short door timings, so the storm drives the whole door machine (relock, held-open, alarms).
  const door = (cfg.doors as Record<string, unknown>[])[0]!;
  Object.assign(door, { unlockMs: 500, heldOpenMs: 1000, preAlarmMs: 500 });
  const configFile = writeConfig(dir, cfg);
  const staff = enrolStaff(configFile, 6);

  // A persistent QoS 1 subscriber: the broker keeps its messages while it is away or restarting.
  const received = { events: new Set<number>(), alarms: new Set<number>() };
  const sub = broker
    ? connect(broker.url, { clientId: `torture-sub-${opts.seed}`, clean: false, reconnectPeriod: 200 })
    : null;
  if (sub) {
    sub.on('message', (topic, payload) => {
      try {
        const seq = (JSON.parse(payload.toString('utf8')) as { seq?: number }).seq;
        if (typeof seq !== 'number') return;
        if (topic.endsWith('/events')) received.events.add(seq);
        else if (topic.endsWith('/alarms')) received.alarms.add(seq);
      } catch {
        // not ours
      }
    });
    sub.on('error', () => undefined);
    await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
    await sub.subscribeAsync(['sekisho/test-ctl/events', 'sekisho/test-ctl/alarms'], { qos: 1 });
  }

  const acknowledged = new Map<number, string>();
  const res: KillResult = {
    seed: opts.seed,
    kills: 0,
    killedDuringStartup: 0,
    acknowledged: 0,
    frames: 0,
    doorChanges: 0,
    rows: 0,
    integrityFailures: 0,
    verifyFailures: 0,
    unlocksWithoutGrant: 0,
    missingAcks: 0,
    notSecuredAtStart: 0,
    startupMs: percentiles([]),
    checkMs: percentiles([]),
    mqtt: null,
    failures: [],
  };
  const startups: number[] = [];
  const checks: number[] = [];
  let outages = 0;
  const fd = openSync(pty.a, 'w');
  const record = (c: StorageCheck, when: string) => {
    checks.push(c.ms);
    res.rows = c.rows;
    if (c.integrity !== 'ok' && c.integrity !== 'no journal yet') {
      res.integrityFailures++;
      res.failures.push(`${when}: integrity_check: ${c.integrity}`);
    }
    if (!c.verified) {
      res.verifyFailures++;
      res.failures.push(`${when}: the chain does not verify: ${c.problem}`);
    }
    res.unlocksWithoutGrant = c.unlocksWithoutGrant.length;
    if (c.unlocksWithoutGrant.length)
      res.failures.push(`${when}: door_unlocked without a grant at ${c.unlocksWithoutGrant}`);
    res.missingAcks = c.missingAcks.length;
    if (c.missingAcks.length)
      res.failures.push(`${when}: acknowledged but missing: ${c.missingAcks.slice(0, 10)}`);
  };

  try {
    for (let k = 0; k < opts.kills; k++) {
      const t0 = performance.now();
      const p: Proc = spawnController(configFile, storage);
      if (rand() < 0.15) {
        // Killed while starting: during module loading, the journal replay or the first writes.
        await sleep(Math.floor(rand() * 900));
        const wasReady = await Promise.race([p.ready.then(() => true), sleep(0).then(() => false)]).catch(
          () => false,
        );
        await p.kill9();
        res.kills++;
        if (!wasReady) res.killedDuringStartup++;
      } else {
        const base = await p.ready;
        startups.push(performance.now() - t0);
        const a = api(base, p.token());
        const [status, outputs] = await Promise.all([
          a.call<{ doors: { locked: boolean }[] }>('GET', '/api/status'),
          a.call<Record<string, boolean>>('GET', '/api/sim/outputs'),
        ]);
        if (!status.body.doors[0]?.locked || outputs.body[`${DOOR}.lock`] !== false) {
          res.notSecuredAtStart++;
          res.failures.push(`start ${k}: the door was not secured at start`);
        }
        let stop = false;
        const outage = broker && opts.brokerOutages && rand() < 0.25;
        const workers = [
          (async () => {
            while (!stop) {
              const unknown = rand() < 0.2;
              const credential = unknown
                ? UNKNOWN[Math.floor(rand() * UNKNOWN.length)]!
                : staff[Math.floor(rand() * staff.length)]!.credential;
              try {
                const r = await a.call<{ granted: boolean; seq: number | null }>('POST', '/api/sim/badge', {
                  reader: 'exit',
                  credential,
                });
                if (r.status === 200 && typeof r.body.seq === 'number') {
                  acknowledged.set(r.body.seq, `access:${r.body.granted ? 'granted' : 'denied'}`);
                  res.acknowledged++;
                }
              } catch {
                return; // killed
              }
            }
          })(),
          (async () => {
            while (!stop) {
              const who = staff[Math.floor(rand() * staff.length)]!;
              const frame =
                rand() < 0.1
                  ? encodeRdm6300Frame(who.credential, { badChecksum: true })
                  : encodeRdm6300Frame(who.credential);
              writeSync(fd, frame);
              res.frames++;
              await sleep(3 + Math.floor(rand() * 12));
            }
          })(),
          (async () => {
            let open = false;
            let tamper = false;
            while (!stop) {
              const r = rand();
              try {
                if (r < 0.6) {
                  open = !open;
                  await a.call('POST', `/api/sim/doors/${DOOR}/contact`, { open });
                } else if (r < 0.85) await a.call('POST', `/api/sim/doors/${DOOR}/exit-button`);
                else {
                  tamper = !tamper;
                  await a.call('POST', `/api/sim/doors/${DOOR}/tamper`, { active: tamper });
                }
                res.doorChanges++;
              } catch {
                return;
              }
              await sleep(5 + Math.floor(rand() * 30));
            }
          })(),
        ];
        if (outage && broker) {
          outages++;
          await sleep(Math.floor(rand() * 200));
          await broker.stop();
        }
        await sleep(30 + Math.floor(rand() * 900));
        await p.kill9();
        res.kills++;
        stop = true;
        await Promise.all(workers);
        if (outage && broker && rand() < 0.5) await broker.start(); // else it comes back next round
      }
      record(checkStorage(storage, acknowledged), `after kill ${k + 1}`);
      if (broker && !broker.running() && rand() < 0.5) await broker.start();
      if ((k + 1) % 10 === 0) log(`  ${k + 1} kills, ${res.rows} rows, ${res.acknowledged} acknowledged`);
    }

    // The last start: everything queued in the outbox reaches the broker.
    if (broker && !broker.running()) await broker.start();
    const p = spawnController(configFile, storage);
    const base = await p.ready;
    const a = api(base, p.token());
    let drainMs = 0;
    if (broker && sub) {
      const t = performance.now();
      for (;;) {
        const s = await a.call<{ mqtt: { connected: boolean; backlog: number } }>('GET', '/api/status');
        if (s.body.mqtt.connected && s.body.mqtt.backlog === 0) break;
        if (performance.now() - t > 120_000) {
          res.failures.push(`the outbox did not drain: ${JSON.stringify(s.body.mqtt)}`);
          break;
        }
        await sleep(100);
      }
      drainMs = performance.now() - t;
    }
    const code = await p.stop();
    if (code !== 0) res.failures.push(`the last stop exited with ${code}`);
    const final = checkStorage(storage, acknowledged);
    record(final, 'after the last stop');
    if (broker && sub) {
      await sleep(500); // the subscriber's last messages
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(storage, 'journal.db'), { readonly: true });
      // Rows written while stopping (controller_stopped, …) after the drain may still be queued.
      const rows = db
        .prepare('SELECT seq, type FROM journal WHERE seq NOT IN (SELECT seq FROM outbox)')
        .all() as {
        seq: number;
        type: string;
      }[];
      db.close();
      const alarmRows = rows.filter((r) => r.type.startsWith('alarm_'));
      const eventsMissing = rows.filter((r) => !received.events.has(r.seq)).map((r) => r.seq);
      const alarmsMissing = alarmRows.filter((r) => !received.alarms.has(r.seq)).map((r) => r.seq);
      res.mqtt = {
        outages,
        rows: rows.length,
        eventsMissing: eventsMissing.length,
        alarms: alarmRows.length,
        alarmsMissing: alarmsMissing.length,
        drainMs,
      };
      if (eventsMissing.length)
        res.failures.push(`rows never delivered to the subscriber: ${eventsMissing.slice(0, 20)}`);
      if (alarmsMissing.length) res.failures.push(`alarms never delivered: ${alarmsMissing.slice(0, 20)}`);
    }
  } finally {
    closeSync(fd);
    await sub?.endAsync(true).catch(() => undefined);
    await pty.stop();
    if (res.failures.length === 0) rmSync(dir, { recursive: true, force: true });
  }
  res.startupMs = percentiles(startups);
  res.checkMs = percentiles(checks);
  return res;
}
