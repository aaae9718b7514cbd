/**
 * The publisher inside a real controller (real SQLite journal, simulated board) against a real
 * Mosquitto: alarms with their payloads and retained state, delivery across a broker outage, the
 * bounded backlog, the signed checkpoint, Home Assistant discovery, and that MQTT is output-only.
 */
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataFields } from '../../controller/domain/index.js';
import { verifyCheckpoint } from '../../controller/journal/index.js';
import {
  ActiveAlarmsPayload,
  AlarmPayload,
  CheckpointPayload,
  DoorStatePayload,
  EventPayload,
  type PublisherTuning,
  StatusPayload,
} from '../../controller/mqtt/index.js';
import type { Controller } from '../../controller/runtime/index.js';
import { until } from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { Consumer, dedupedSeqs, isIncreasing, startMqttController } from './consumer.js';

type Ctx = Awaited<ReturnType<typeof startMqttController>>;

let broker: Mosquitto;
const running: Ctx[] = [];
const consumers: Consumer[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker.kill();
});
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.end();
  for (const r of running.splice(0)) await r.c.stop('test end');
  if (!broker.running()) await broker.start();
});

async function controller(id: string, mqtt: Record<string, unknown> = {}, tuning?: PublisherTuning) {
  const ctx = await startMqttController({ url: broker.url, ...mqtt }, { id, mqttTuning: tuning });
  running.push(ctx);
  return ctx;
}

async function consumer(topics: string[], persistent?: string) {
  const c = await Consumer.connect(broker.url, topics, persistent ? { persistent } : {});
  consumers.push(c);
  return c;
}

const connected = (c: Controller) => until(() => c.status().mqtt.connected, 'the controller to connect');
const rowsOf = (c: Controller, type: string) => [...c.journal.iterate(1)].filter((r) => r.type === type);

describe('MQTT publisher (real Mosquitto)', () => {
  it('forced door → alarm message with the right payload, and the retained active-alarm list', async () => {
    const sub = await consumer(['sekisho/forced/#']);
    const { c, board, base } = await controller('forced');
    await connected(c);
    const state = `${base}/doors/machine-room/state`;
    await sub.waitFor(() => sub.json(state).some((s) => s.contact === 'closed'), 'door state closed');

    board.simulate('machine-room.contact', true); // opened while locked, without a grant
    const raised = await sub.waitFor(
      () => sub.json(`${base}/alarms`).find((a) => a.event === 'raised'),
      'the alarm message',
    );
    const alarm = AlarmPayload.parse(raised);
    const raiseRow = rowsOf(c, 'alarm_raised')[0]!;
    expect(alarm).toEqual({
      v: 1,
      event: 'raised',
      alarmId: raiseRow.seq,
      type: 'forced_open',
      severity: 'critical',
      door: 'machine-room',
      seq: raiseRow.seq,
      id: `forced:${raiseRow.seq}`,
      at: raiseRow.at,
      time: new Date(raiseRow.at).toISOString(),
      detail: dataFields(raiseRow).detail,
      actor: null,
      comment: null,
    });
    // The same row on the events topic, and the door_opened before it.
    await sub.waitFor(
      () => sub.json<{ seq: number }>(`${base}/events`).some((x) => x.seq === raiseRow.seq),
      'the alarm event',
    );
    const events = sub.json<{ seq: number; type: string }>(`${base}/events`);
    const opened = events.find((e) => e.type === 'door_opened');
    expect(EventPayload.parse(opened).data).toEqual({ authorized: false });
    expect(EventPayload.parse(events.find((e) => e.seq === raiseRow.seq)).type).toBe('alarm_raised');

    const active = await sub.waitFor(
      () => sub.json(`${base}/alarms/active`).find((a) => (a.count as number) > 0),
      'the active list',
    );
    expect(ActiveAlarmsPayload.parse(active)).toMatchObject({
      count: 1,
      unacknowledged: 1,
      alarms: [{ alarmId: raiseRow.seq, type: 'forced_open', severity: 'critical', acknowledged: false }],
    });
    const door = await sub.waitFor(() => sub.json(state).find((s) => s.contact === 'open'), 'door open');
    expect(DoorStatePayload.parse(door)).toMatchObject({
      locked: true,
      open: true,
      alarm: true,
      activeAlarms: 1,
    });

    // A consumer that arrives later gets the list from the broker (retained).
    const late = await consumer([`${base}/alarms/active`]);
    const kept = await late.waitFor(() => late.on(`${base}/alarms/active`)[0], 'retained list');
    expect(kept.retain).toBe(true);
    expect((kept.json as { alarms: { alarmId: number }[] }).alarms.map((a) => a.alarmId)).toEqual([
      raiseRow.seq,
    ]);

    // Acknowledged, then the door closes: acknowledged and cleared messages; the list empties.
    expect(c.acknowledgeAlarm(raiseRow.seq, 'admin:tanaka', 'checked the door')).toBe(true);
    board.simulate('machine-room.contact', false);
    const acked = await sub.waitFor(
      () => sub.json(`${base}/alarms`).find((a) => a.event === 'acknowledged'),
      'acknowledged',
    );
    expect(AlarmPayload.parse(acked)).toMatchObject({
      alarmId: raiseRow.seq,
      type: 'forced_open',
      actor: 'admin:tanaka',
      comment: 'checked the door',
    });
    const cleared = await sub.waitFor(
      () => sub.json(`${base}/alarms`).find((a) => a.event === 'cleared'),
      'cleared',
    );
    expect(AlarmPayload.parse(cleared)).toMatchObject({ alarmId: raiseRow.seq, door: 'machine-room' });
    await sub.waitFor(() => sub.last(`${base}/alarms/active`)?.count === 0, 'an empty active list');

    // Every message on every topic parses with the exported schemas.
    const schemas: [RegExp, { parse(x: unknown): unknown }][] = [
      [/\/events$/, EventPayload],
      [/\/alarms$/, AlarmPayload],
      [/\/alarms\/active$/, ActiveAlarmsPayload],
      [/\/doors\/[^/]+\/state$/, DoorStatePayload],
      [/\/status$/, StatusPayload],
      [/\/journal\/checkpoint$/, CheckpointPayload],
    ];
    for (const m of sub.messages) {
      const schema = schemas.find(([re]) => re.test(m.topic));
      expect(schema, m.topic).toBeDefined();
      schema![1].parse(m.json);
    }
  });

  it('broker stopped while 1,000+ events and alarms occur, then restarted → every one delivered, in order', async () => {
    const sub = await consumer(['sekisho/outage/events', 'sekisho/outage/alarms'], 'outage-consumer');
    const { c, board, base } = await controller('outage');
    await connected(c);
    // The start's rows delivered first: a broker stopped amid them resets the socket (read ECONNRESET).
    await until(() => c.journal.outboxCount() === 0, 'the start rows delivered');
    const first = c.journal.head().seq + 1;

    await broker.stop();
    // Wait for a few failed reconnection attempts: they must not each become a journal row.
    await until(() => (c.status().mqtt.failedAttempts ?? 0) >= 3, 'reconnection attempts', 15_000);
    expect(c.status().mqtt).toMatchObject({
      connected: false,
      lastError: expect.stringMatching(/ECONNREFUSED/),
    });

    for (let i = 0; i < 600; i++) c.simulateBadge('entry', `FF${String(i).padStart(8, '0')}`); // denied
    for (let i = 0; i < 200; i++) {
      board.simulate('machine-room.tamper', true); // alarm_raised
      board.simulate('machine-room.tamper', false); // alarm_condition_cleared
      const a = c.activeAlarms().at(-1)!;
      c.acknowledgeAlarm(a.id, 'admin:tanaka', `ack ${i}`); // alarm_acknowledged
    }
    const head = c.journal.head().seq;
    expect(head - first + 1).toBeGreaterThanOrEqual(1200);
    expect(c.status().mqtt.backlog).toBeGreaterThanOrEqual(1200);
    expect(rowsOf(c, 'mqtt_disconnected')).toHaveLength(1);

    await broker.start();
    const expected = Array.from({ length: head - first + 1 }, (_, i) => first + i);
    await sub.waitFor(
      () => {
        const got = new Set(sub.json<{ seq: number }>(`${base}/events`).map((e) => e.seq));
        return expected.every((s) => got.has(s));
      },
      'every row on the events topic',
      30_000,
    );
    const events = sub.json<{ seq: number }>(`${base}/events`);
    const order = dedupedSeqs(events).filter((s) => s >= first && s <= head);
    expect(isIncreasing(order)).toBe(true);
    expect(order).toEqual(expected);

    const alarmRows = [...c.journal.iterate(first)]
      .filter((r) => r.seq <= head && r.type.startsWith('alarm_'))
      .map((r) => r.seq);
    expect(alarmRows).toHaveLength(600);
    await sub.waitFor(() => {
      const got = new Set(sub.json<{ seq: number }>(`${base}/alarms`).map((a) => a.seq));
      return alarmRows.every((s) => got.has(s));
    }, 'every alarm on the alarms topic');
    const alarmOrder = dedupedSeqs(sub.json<{ seq: number }>(`${base}/alarms`)).filter((s) => s >= first);
    expect(alarmOrder.slice(0, alarmRows.length)).toEqual(alarmRows);
    for (const a of sub.json(`${base}/alarms`)) AlarmPayload.parse(a);

    // The outbox empties; the reconnection is journaled once.
    await until(() => c.journal.outboxCount() === 0 && c.status().mqtt.backlog === 0, 'an empty outbox');
    expect(rowsOf(c, 'mqtt_connected')).toHaveLength(2); // at start and after the outage
    expect(rowsOf(c, 'mqtt_disconnected')[0]!.data).toMatchObject({
      reason: 'connection lost',
      backlog: expect.any(Number),
    });
  });

  it('a full backlog queues only alarms, logs at 50/80/100 %, journals the gap, then resumes', async () => {
    const sub = await consumer(['sekisho/cap/events', 'sekisho/cap/alarms'], 'cap-consumer');
    await broker.stop();
    const { c, board, base, logLines } = await controller('cap', {}, { maxBacklog: 40 });
    for (let i = 0; i < 60; i++) c.simulateBadge('entry', `EE${String(i).padStart(8, '0')}`);
    board.simulate('machine-room.tamper', true);
    board.simulate('machine-room.tamper', false);
    c.acknowledgeAlarm(c.activeAlarms()[0]!.id, 'admin:tanaka', 'ok');
    await until(() => rowsOf(c, 'mqtt_backlog_full').length === 1, 'the backlog_full row');

    const st = c.status().mqtt;
    expect(st).toMatchObject({ queueing: 'alarms_only', maxBacklog: 40 });
    expect(st.skipped).toBeGreaterThan(0);
    for (const level of [50, 80, 100])
      expect(
        logLines.some((l) => l.includes(`mqtt backlog ${level} % full`)),
        `${level} %`,
      ).toBe(true);
    // The journal keeps everything; the outbox holds 40 rows, plus the alarms and the marker.
    const journalSeqs = [...c.journal.iterate(1)].map((r) => r.seq);
    expect(journalSeqs).toEqual(Array.from({ length: journalSeqs.length }, (_, i) => i + 1));
    const queued = c.journal.outboxPeek(0, 1000);
    const alarmSeqs = ['alarm_raised', 'alarm_condition_cleared', 'alarm_acknowledged'].map(
      (t) => rowsOf(c, t)[0]!.seq,
    );
    for (const s of alarmSeqs) expect(queued.some((r) => r.seq === s)).toBe(true);
    expect(queued.filter((r) => !r.type.startsWith('alarm_') && !r.type.startsWith('mqtt_'))).toHaveLength(
      40,
    );

    await broker.start();
    // Below 90 % all rows are queued again; the marker row names the rows that were not.
    const resumed = await until(() => rowsOf(c, 'mqtt_backlog_resumed')[0], 'the resumed row', 15_000);
    const { firstSkippedSeq, lastSkippedSeq, skipped } = resumed.data as Record<string, number>;
    expect(skipped).toBe(st.skipped);
    const queuedSeqs = new Set(queued.map((r) => r.seq));
    const notQueued = journalSeqs.filter((s) => s <= queued.at(-1)!.seq && !queuedSeqs.has(s));
    expect(notQueued).toHaveLength(skipped!);
    expect([notQueued[0], notQueued.at(-1)]).toEqual([firstSkippedSeq, lastSkippedSeq]);
    await until(() => c.journal.outboxCount() === 0, 'an empty outbox');
    expect(c.status().mqtt.queueing).toBe('all');

    // Delivered: exactly the queued rows (alarms included) and what came after; never a skipped one.
    const last = c.journal.head().seq;
    await sub.waitFor(
      () => sub.json<{ seq: number }>(`${base}/events`).some((e) => e.seq === last),
      'the last row',
    );
    const delivered = dedupedSeqs(sub.json<{ seq: number }>(`${base}/events`));
    expect(isIncreasing(delivered)).toBe(true);
    expect(delivered).toEqual(
      journalSeqs.filter((s) => queuedSeqs.has(s)).concat(delivered.filter((s) => s > queued.at(-1)!.seq)),
    );
    for (const s of notQueued) expect(delivered).not.toContain(s);
    expect(dedupedSeqs(sub.json<{ seq: number }>(`${base}/alarms`))).toEqual(alarmSeqs.sort((a, b) => a - b));
  });

  it("publishes a forced door's alarm before the door_opened event it shares a commit with", async () => {
    // One event, one commit: the forced door's door_opened and alarm_raised are one outbox batch. The
    // alarm message must lead it: a PUBACK held behind the event's (Nagle's algorithm on the broker,
    // delayed ACK on the client) cost the alarm about 40 ms (docs/benchmarks.md).
    const sub = await consumer(['sekisho/order/#']);
    const { c, board, base } = await controller('order');
    await connected(c);
    const state = `${base}/doors/machine-room/state`;
    await sub.waitFor(() => sub.json(state).some((s) => s.contact === 'closed'), 'door state closed');
    board.simulate('machine-room.contact', true);
    await sub.waitFor(
      () => sub.json(`${base}/events`).some((e) => e.type === 'alarm_raised'),
      'the alarm_raised event',
    );
    const at = (pred: (m: { topic: string; json: unknown }) => boolean) => sub.messages.findIndex(pred);
    const field = (m: { json: unknown }, k: string) => (m.json as Record<string, unknown> | null)?.[k];
    const alarm = at((m) => m.topic === `${base}/alarms` && field(m, 'event') === 'raised');
    const opened = at((m) => m.topic === `${base}/events` && field(m, 'type') === 'door_opened');
    const raisedEvent = at((m) => m.topic === `${base}/events` && field(m, 'type') === 'alarm_raised');
    expect(alarm).toBeGreaterThanOrEqual(0);
    expect(opened).toBeGreaterThan(alarm);
    // The events themselves stay in seq order.
    expect(raisedEvent).toBeGreaterThan(opened);
    const opening = rowsOf(c, 'door_opened').at(-1)!;
    expect(rowsOf(c, 'alarm_raised').at(-1)!.seq).toBe(opening.seq + 1);
  });

  it('holds the cap within one transaction: a grant at one row below it queues only its first row', async () => {
    await broker.stop();
    const { c } = await controller('cap-tx', {}, { maxBacklog: 40 });
    const r = c.registry;
    const at = Date.now();
    const staff = r.addPerson({ displayId: 'S-1', name: 'Yamada', category: 'staff' }, 'test', at);
    r.addBadge({ personId: staff.id, credential: '0A1B2C3D4E' }, 'test', at);
    r.grantDoor(staff.id, 'machine-room', 'always', 'test', at);
    const backlog = () => c.status().mqtt.backlog;
    // One-row events (an unknown card, refused) up to one row below the cap…
    for (let i = 0; backlog() < 39; i++) {
      expect(i, 'the backlog to reach 39').toBeLessThan(100);
      c.simulateBadge('entry', `EE${String(i).padStart(8, '0')}`);
    }
    expect(backlog()).toBe(39);
    // …then a grant: its access row and its door_unlocked in one transaction.
    const head = c.journal.head().seq;
    expect(c.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
    const rows = [...c.journal.iterate(head + 1)];
    const access = rows.find((x) => x.type === 'access')!;
    const unlocked = rows.find((x) => x.type === 'door_unlocked')!;
    const queued = new Set(c.journal.outboxPeek(0, 1000).map((x) => x.seq));
    expect(queued.has(access.seq)).toBe(true);
    expect(queued.has(unlocked.seq)).toBe(false);
    expect(backlog()).toBe(40);
    expect(c.status().mqtt).toMatchObject({ queueing: 'alarms_only', skipped: 1 });
    await until(() => rowsOf(c, 'mqtt_backlog_full').length === 1, 'the backlog_full row');
  });

  it('journals connection changes only, rate-limited, and summarises the ones it did not record', async () => {
    const { c } = await controller('flaps', {}, { maxTransitions: 2, transitionWindowMs: 5000 });
    await connected(c);
    await broker.stop();
    await until(() => rowsOf(c, 'mqtt_disconnected').length === 1, 'the disconnected row');
    await broker.start();
    await connected(c);
    // The third change falls in the window: not recorded now…
    expect(rowsOf(c, 'mqtt_connected')).toHaveLength(1);
    // …but once the window has room, the current state is recorded with the count of missed changes.
    const summary = await until(() => rowsOf(c, 'mqtt_connected')[1], 'the summary row', 15_000);
    // At least the reconnection above went unrecorded. On a loaded machine the client may report a
    // change more than once while the broker comes back (seen in CI: 2), which the count includes.
    expect((summary.data as { unrecordedChanges: number }).unrecordedChanges).toBeGreaterThanOrEqual(1);
    expect(rowsOf(c, 'mqtt_disconnected')).toHaveLength(1);
  });

  it('publishes the signed checkpoint (retained) so truncation is detectable off the device', async () => {
    const { c, base } = await controller('checkpoint');
    await connected(c);
    c.simulateBadge('entry', 'AB00000001');
    c.checkpoint();
    // At its first connection the controller reads back the retained checkpoint before publishing
    // its own (the start check): wait for the head's, then read it as a late subscriber does.
    const live = await consumer([`${base}/journal/checkpoint`]);
    await live.waitFor(
      () =>
        live.json<{ seq: number }>(`${base}/journal/checkpoint`).some((x) => x.seq === c.journal.head().seq),
      'the head checkpoint',
    );
    const sub = await consumer([`${base}/journal/checkpoint`]);
    const m = await sub.waitFor(() => sub.on(`${base}/journal/checkpoint`)[0], 'the checkpoint');
    expect(m.retain).toBe(true);
    const cp = CheckpointPayload.parse(m.json);
    expect(cp).toMatchObject({
      seq: c.journal.head().seq,
      hash: c.journal.head().hash,
      controller: 'checkpoint',
    });
    expect(verifyCheckpoint(cp, c.secrets.publicKey)).toBe(true);
    expect(verifyCheckpoint({ ...cp, seq: cp.seq - 1 }, c.secrets.publicKey)).toBe(false);
  });

  it('status online (retained), a clean stop publishes offline; Home Assistant discovery when enabled', async () => {
    const ctx = await startMqttController(
      { url: broker.url, homeAssistant: { discoveryPrefix: 'ha-test' } },
      { id: 'status' },
    );
    await connected(ctx.c);
    const sub = await consumer(['sekisho/status/status', 'ha-test/#']);
    const online = await sub.waitFor(() => sub.on('sekisho/status/status')[0], 'status');
    expect(online.retain).toBe(true);
    expect(StatusPayload.parse(online.json)).toMatchObject({
      state: 'online',
      controllerId: 'status',
      siteId: 'test-site',
    });
    await sub.waitFor(
      () => sub.messages.filter((m) => m.topic.startsWith('ha-test/')).length === 3,
      'discovery',
    );
    const configs = sub.messages.filter((m) => m.topic.startsWith('ha-test/'));
    expect(configs.every((m) => m.retain)).toBe(true);
    expect(configs.map((m) => (m.json as { device_class: string }).device_class).sort()).toEqual([
      'door',
      'lock',
      'problem',
    ]);

    await ctx.c.stop('test');
    const off = await sub.waitFor(
      () => sub.json('sekisho/status/status').find((s) => s.state === 'offline'),
      'offline',
    );
    expect(StatusPayload.parse(off)).toMatchObject({ state: 'offline', reason: 'stopped' });
  });

  it('is output-only: nothing published to any topic changes the controller; it subscribes only to read back its own checkpoint', async () => {
    const { c, board, base } = await controller('readonly');
    await connected(c);
    const sub = await consumer([`${base}/events`]);
    const before = c.status();
    const headBefore = c.journal.head().seq;
    const lockBefore = board.readOutput('machine-room.lock');

    const attacker = connect(broker.url, { clientId: 'attacker' });
    await new Promise((r) => attacker.once('connect', r));
    const attempts: [string, string][] = [
      [`${base}/doors/machine-room/set`, '{"lock":"unlocked"}'],
      [`${base}/doors/machine-room/lock/set`, 'UNLOCK'],
      [`${base}/doors/machine-room/mode/set`, 'normal'],
      [`${base}/doors/machine-room/command`, '{"unlock":true}'],
      [`${base}/alarms/ack`, `{"alarmId":1,"comment":"x"}`],
      [`${base}/alarms`, '{"event":"acknowledged","alarmId":1}'],
      [`${base}/command`, '{"cmd":"lockdown"}'],
      [`${base}/status`, '{"state":"offline"}'],
      ['homeassistant/lock/sekisho_readonly/machine-room/set', 'UNLOCK'],
      [
        `${base}/journal/checkpoint`,
        '{"seq":999999,"hash":"00","at":1,"controller":"readonly","signature":"x"}',
      ],
    ];
    for (const [topic, payload] of attempts) await attacker.publishAsync(topic, payload, { qos: 1 });
    await attacker.endAsync();

    // A positive control that passes through the broker after the attempts: a denied badge.
    const out = c.simulateBadge('entry', 'DD00000001');
    await sub.waitFor(
      () => sub.json(`${base}/events`).some((e) => e.seq === out.row!.seq),
      'the control event',
    );

    const rows = [...c.journal.iterate(headBefore + 1)].map((r) => r.type);
    expect(rows).toEqual(['access']);
    expect(board.readOutput('machine-room.lock')).toBe(lockBefore);
    const after = c.status();
    expect(after.doors).toEqual(before.doors);
    expect(after.alarms).toEqual(before.alarms);
    // The broker saw the controller's client subscribe to one topic only: its own checkpoint's, read
    // back once at the first connection (and accepted only with the device's signature). It is
    // subscribed twice (QoS 0, then 1): the second SUBACK says a retained checkpoint would be in.
    const log = broker.log();
    expect(log).toMatch(/New client connected .* as sekisho-readonly/);
    const topics = [...log.matchAll(/Received SUBSCRIBE from sekisho-readonly\n\d+: \t(\S+) \(QoS/g)].map(
      (x) => x[1],
    );
    expect(new Set(topics)).toEqual(new Set([`${base}/journal/checkpoint`]));
    expect(topics).toHaveLength(2);
    expect(log).toMatch(/Received UNSUBSCRIBE from sekisho-readonly/);
  });
});
