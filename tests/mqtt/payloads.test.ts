/**
 * The MQTT vocabulary without a broker: topics, the config section, payload builders checked against
 * the exported zod schemas, Home Assistant discovery, and the broker settings' handling of secrets.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, MqttSchema, parseConfig } from '../../controller/config/index.js';
import type { ActiveAlarm } from '../../controller/domain/index.js';
import type { JournalRow } from '../../controller/journal/index.js';
import {
  ActiveAlarmsPayload,
  AlarmPayload,
  activeAlarmsPayload,
  alarmPayload,
  baseTopicProblem,
  brokerSettings,
  CheckpointPayload,
  checkpointPayload,
  DoorStatePayload,
  discoveryMessages,
  doorStatePayload,
  EventPayload,
  eventPayload,
  LAST_WILL,
  MqttSetupError,
  minimalEventPayload,
  mqttTopics,
  offlinePayload,
  onlinePayload,
  StatusPayload,
} from '../../controller/mqtt/index.js';
import { minimalConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/controller.js';

const H = (c: string) => c.repeat(64);

function row(
  seq: number,
  type: string,
  data: Record<string, unknown>,
  extra: Partial<JournalRow> = {},
): JournalRow {
  return {
    seq,
    id: `ctl-1:${seq}`,
    type,
    at: Date.UTC(2026, 3, 1, 0, 0, seq),
    door: 'machine-room',
    person: null,
    actor: null,
    data,
    hash: H('a'),
    prevHash: H('b'),
    bytes: '{}',
    ...extra,
  } as JournalRow; // any type and data: the payloads are total over rows
}

const base = () => minimalConfig({ readers: [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }] });

function mqttProblems(mqtt: unknown): string[] {
  try {
    parseConfig(stringify({ ...base(), mqtt }));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('topics', () => {
  it('builds the topic tree under the base topic', () => {
    const t = mqttTopics('sekisho/ctl-1');
    expect([t.status, t.events, t.alarms, t.alarmsActive, t.checkpoint, t.doorState('machine-room')]).toEqual(
      [
        'sekisho/ctl-1/status',
        'sekisho/ctl-1/events',
        'sekisho/ctl-1/alarms',
        'sekisho/ctl-1/alarms/active',
        'sekisho/ctl-1/journal/checkpoint',
        'sekisho/ctl-1/doors/machine-room/state',
      ],
    );
    // A door id can never inject topic levels or wildcards.
    expect(t.doorState('a/+/#')).toBe('sekisho/ctl-1/doors/a____/state');
  });

  it('refuses base topics with wildcards, empty levels or a leading $', () => {
    for (const bad of ['', 'a/+/b', 'a/#', '/a', 'a/', 'a//b', '$SYS/x'])
      expect(baseTopicProblem(bad), bad).not.toBeNull();
    expect(baseTopicProblem('city/hall/sekisho-1')).toBeNull();
    expect(() => mqttTopics('a/#')).toThrow(/wildcards/);
  });
});

describe('mqtt config', () => {
  it('fills defaults: 1,000,000-row backlog, keepalive, reconnect, heartbeat', () => {
    const m = parseConfig(stringify({ ...base(), mqtt: { url: 'mqtt://broker:1883' } })).mqtt!;
    expect(m).toMatchObject({ keepaliveS: 30, reconnectS: 5, maxBacklog: 1_000_000, heartbeatS: 60 });
    expect(m.homeAssistant).toBeUndefined();
    const ha = MqttSchema.parse({ url: 'mqtts://b', homeAssistant: {} }).homeAssistant;
    expect(ha).toEqual({ enabled: true, discoveryPrefix: 'homeassistant' });
  });

  it('a malformed broker URL is a config error naming mqtt.url', () => {
    for (const url of [
      'mqtt://',
      'mqtt:/broker',
      'http://broker:1883',
      'mqtt://b:99999',
      'not a url',
      'mqtt://b/x?y=1',
    ])
      expect(
        mqttProblems({ url }).some((p) => p.startsWith('mqtt.url:')),
        url,
      ).toBe(true);
    expect(mqttProblems({ url: 'mqtt://user:pw@broker' }).join()).toMatch(/passwordFile/);
    expect(mqttProblems({ url: 'mqtts://[::1]:8883' })).toEqual([]);
  });

  it('refuses inconsistent TLS and credential settings, and a backlog below 1,000,000', () => {
    expect(mqttProblems({ url: 'mqtt://b', ca: '/etc/ca.pem' })).toEqual([
      'mqtt.ca: TLS files need an mqtts:// url',
    ]);
    expect(mqttProblems({ url: 'mqtts://b', cert: '/c.pem' })).toEqual([
      'mqtt.key: cert and key go together (a client certificate and its private key)',
    ]);
    expect(mqttProblems({ url: 'mqtt://localhost', passwordFile: '/p' })).toEqual([
      'mqtt.username: passwordFile needs a username',
    ]);
    expect(mqttProblems({ url: 'mqtt://b', maxBacklog: 999_999 })[0]).toMatch(/^mqtt\.maxBacklog:/);
    expect(mqttProblems({ url: 'mqtt://b', baseTopic: 'city/#' })[0]).toMatch(/^mqtt\.baseTopic:.*wildcards/);
    expect(mqttProblems({ url: 'mqtt://b', clientId: 'has space' })[0]).toMatch(/^mqtt\.clientId:/);
    expect(mqttProblems({ url: 'mqtt://b', password: 'x' })[0]).toMatch(/unknown key "password"/);
  });
});

describe('payloads', () => {
  it('an access row: person, masked badge, decision reason, real booleans and numbers', () => {
    const r = row(
      7,
      'access',
      {
        reader: 'entry',
        direction: 'in',
        result: 'granted',
        reason: 'granted',
        badge: 'b_1',
        masked: '••••3D4E',
        format: 'em4100',
        personName: 'Yamada',
        category: 'staff',
      },
      { person: 'p_1' },
    );
    const p = EventPayload.parse(eventPayload(r));
    expect(p).toMatchObject({
      v: 1,
      id: 'ctl-1:7',
      seq: 7,
      type: 'access',
      time: '2026-04-01T00:00:07.000Z',
      door: 'machine-room',
      direction: 'in',
      result: 'granted',
      reason: 'granted',
      person: { id: 'p_1', name: 'Yamada', category: 'staff' },
      badge: { id: 'b_1', masked: '••••3D4E' },
      escort: null,
      hash: H('a'),
      prevHash: H('b'),
    });
    expect(typeof p.at).toBe('number');
  });

  it('the minimal payload, sent when a row cannot be read, is a valid event with only the certain fields', () => {
    const r = row(9, 'access', { result: 'granted', masked: '••••3D4E' }, { person: 'p_1', actor: 'user:x' });
    const p = EventPayload.parse(minimalEventPayload(r));
    expect(p).toMatchObject({
      seq: 9,
      id: 'ctl-1:9',
      type: 'access',
      actor: 'user:x',
      data: {},
      person: null,
    });
    expect(p.result).toBeNull();
    // The certain fields are the same as in the full payload of the same row.
    const full = EventPayload.parse(eventPayload(r));
    for (const k of ['v', 'id', 'seq', 'type', 'at', 'time', 'door', 'actor', 'hash', 'prevHash'] as const)
      expect(p[k], k).toEqual(full[k]);
  });
  it('never publishes a credential hash; other rows get null access fields', () => {
    const r = row(
      3,
      'badge_added',
      {
        badgeId: 'b_1',
        personId: 'p_1',
        credentialHash: H('c'),
        masked: '••••3D4E',
        nested: { hmacKey: 'x' },
      },
      { door: null, person: 'p_1', actor: 'admin:tanaka' },
    );
    const p = EventPayload.parse(eventPayload(r, () => ({ name: 'Yamada', category: 'staff' })));
    expect(JSON.stringify(p)).not.toContain(H('c'));
    expect(p.data).toEqual({ badgeId: 'b_1', personId: 'p_1', masked: '••••3D4E', nested: {} });
    expect(p).toMatchObject({
      direction: null,
      result: null,
      reason: null,
      actor: 'admin:tanaka',
      person: { id: 'p_1', name: 'Yamada', category: 'staff' },
      badge: { id: 'b_1', masked: '••••3D4E' },
    });
  });

  it('an escort named by the record is carried', () => {
    const r = row(9, 'access', { direction: 'in', result: 'granted', reason: 'granted', escort: 'p_2' });
    const p = eventPayload(r, (id) => (id === 'p_2' ? { name: 'Suzuki', category: 'staff' } : undefined));
    expect(p.escort).toEqual({ id: 'p_2', name: 'Suzuki', category: 'staff' });
  });

  it('alarm rows: raised, acknowledged and cleared carry the alarm id, type, severity and door', () => {
    const raise = row(10, 'alarm_raised', {
      alarm: 'forced_open',
      severity: 'critical',
      detail: 'door forced',
    });
    const ack = row(12, 'alarm_acknowledged', { alarmId: 10, comment: 'checked' }, { actor: 'admin:tanaka' });
    const clear = row(13, 'alarm_condition_cleared', { alarmId: 10 });
    expect(AlarmPayload.parse(alarmPayload(raise, raise))).toMatchObject({
      event: 'raised',
      alarmId: 10,
      seq: 10,
      type: 'forced_open',
      severity: 'critical',
      door: 'machine-room',
      detail: 'door forced',
      actor: null,
    });
    expect(AlarmPayload.parse(alarmPayload(ack, raise))).toMatchObject({
      event: 'acknowledged',
      alarmId: 10,
      seq: 12,
      type: 'forced_open',
      actor: 'admin:tanaka',
      comment: 'checked',
    });
    expect(AlarmPayload.parse(alarmPayload(clear, raise))).toMatchObject({
      event: 'cleared',
      alarmId: 10,
      seq: 13,
    });
    expect(alarmPayload(row(14, 'door_closed', {}), undefined)).toBeNull();
  });

  it('state payloads: doors, active alarms, checkpoint, status', () => {
    const alarm: ActiveAlarm = {
      id: 10,
      type: 'forced_open',
      severity: 'critical',
      door: 'machine-room',
      detail: 'door forced',
      raisedAt: 1775001600000,
      conditionCleared: false,
      conditionClearedAt: null,
      acknowledged: null,
    };
    const door = DoorStatePayload.parse(
      doorStatePayload(
        { id: 'machine-room', name: 'マシン室', locked: true, contact: 'open', mode: 'normal', occupancy: 2 },
        [alarm],
        1775001601000,
      ),
    );
    expect(door).toMatchObject({
      lock: 'locked',
      locked: true,
      open: true,
      occupancy: 2,
      alarm: true,
      activeAlarms: 1,
    });
    const active = ActiveAlarmsPayload.parse(activeAlarmsPayload([alarm], 1775001601000));
    expect(active).toMatchObject({
      count: 1,
      unacknowledged: 1,
      alarms: [{ alarmId: 10, acknowledged: false }],
    });
    const cp = CheckpointPayload.parse(
      checkpointPayload({ seq: 5, hash: H('d'), at: 1, controller: 'ctl-1', signature: 'c2ln', keyId: 'k' }),
    );
    expect(cp.seq).toBe(5);
    expect(StatusPayload.parse(JSON.parse(LAST_WILL))).toEqual({ state: 'offline' });
    expect(StatusPayload.parse(offlinePayload('stopped', 1))).toMatchObject({
      state: 'offline',
      reason: 'stopped',
    });
    const on = StatusPayload.parse(
      onlinePayload(
        { controllerId: 'c', siteId: 's', version: '0.1.0', startedAt: 1, backlog: 3, maxBacklog: 1_000_000 },
        2,
      ),
    );
    expect(on).toMatchObject({ state: 'online', backlog: 3 });
  });
});

describe('Home Assistant discovery', () => {
  it('offers contact, lock and alarm per door, read-only, fed by the door state topic', () => {
    const topics = mqttTopics('sekisho/ctl-1');
    const msgs = discoveryMessages({
      discoveryPrefix: 'homeassistant',
      controllerId: 'ctl-1',
      version: '0.1.0',
      topics,
      doors: [
        { id: 'machine-room', name: 'マシン室' },
        { id: 'store', name: 'Store' },
      ],
    });
    expect(msgs.map((m) => m.topic)).toEqual([
      'homeassistant/binary_sensor/sekisho_ctl-1/machine-room_contact/config',
      'homeassistant/binary_sensor/sekisho_ctl-1/machine-room_lock/config',
      'homeassistant/binary_sensor/sekisho_ctl-1/machine-room_alarm/config',
      'homeassistant/binary_sensor/sekisho_ctl-1/store_contact/config',
      'homeassistant/binary_sensor/sekisho_ctl-1/store_lock/config',
      'homeassistant/binary_sensor/sekisho_ctl-1/store_alarm/config',
    ]);
    for (const m of msgs) {
      const c = JSON.parse(m.payload);
      expect(c.state_topic).toMatch(/^sekisho\/ctl-1\/doors\/[a-z-]+\/state$/);
      expect(c.availability_topic).toBe('sekisho/ctl-1/status');
      expect(Object.keys(c).some((k) => k.startsWith('command'))).toBe(false);
    }
    expect(JSON.parse(msgs[1]!.payload).device_class).toBe('lock');
  });
});

describe('broker settings', () => {
  const cfg = (extra: Record<string, unknown>) =>
    MqttSchema.parse({ url: 'mqtt://127.0.0.1:1883', ...extra });

  it('reads the password file (mode 0600 or 0640) and never puts the password in an error', () => {
    const dir = tempDir('sekisho-pw-');
    const file = join(dir, 'pw');
    const secret = 'correct-horse-battery-staple';
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const s = brokerSettings(cfg({ username: 'sekisho', passwordFile: file }), 'ctl-1');
    expect(s.options.password).toBe(secret);
    expect(s.clientId).toBe('sekisho-ctl-1');
    expect(s.baseTopic).toBe('sekisho/ctl-1');
    chmodSync(file, 0o644);
    let err: unknown;
    try {
      brokerSettings(cfg({ username: 'sekisho', passwordFile: file }), 'ctl-1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MqttSetupError);
    expect((err as Error).message).toMatch(/readable by others \(mode 0644\); chmod 640 it/);
    expect((err as Error).message).not.toContain(secret);
    expect(() => brokerSettings(cfg({ username: 'u', passwordFile: join(dir, 'missing') }), 'c')).toThrow(
      /cannot read mqtt\.passwordFile .*ENOENT/,
    );
  });

  it('sets a retained QoS 1 last will and TLS verification for mqtts://', () => {
    const dir = tempDir('sekisho-tls-');
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    const s = brokerSettings(
      MqttSchema.parse({ url: 'mqtts://broker.example', ca: join(dir, 'ca.pem') }),
      'ctl-1',
      { topic: 'sekisho/ctl-1/status', payload: LAST_WILL },
    );
    expect(s.broker).toBe('broker.example:8883');
    expect(s.options.rejectUnauthorized).toBe(true);
    expect(String(s.options.ca)).toBe('CA');
    expect(s.options.will).toMatchObject({ topic: 'sekisho/ctl-1/status', qos: 1, retain: true });
    expect(String(s.options.will!.payload)).toBe('{"state":"offline"}');
  });
});
