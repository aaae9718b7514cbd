/**
 * Broker security settings against a real Mosquitto: mqtts:// with a CA made in the test (and
 * refused with another CA), a client certificate, and username + passwordFile. A refused connection
 * never stops the controller: the door keeps working and the status says why.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatusPayload } from '../../controller/mqtt/index.js';
import { tempDir, until } from '../helpers/controller.js';
import { type Mosquitto, makeTestPki, startMosquitto, type TestPki } from '../helpers/mosquitto.js';
import { Consumer, startMqttController } from './consumer.js';

const PASSWORD = 'Tr0ub4dor-and-3-more-words';

let pki: TestPki;
let broker: Mosquitto;
const running: Awaited<ReturnType<typeof startMqttController>>[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  broker = await startMosquitto({ pki, users: { sekisho: PASSWORD } });
});
afterAll(async () => {
  await broker.kill();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.c.stop('test end');
});

async function controller(id: string, mqtt: Record<string, unknown>) {
  const ctx = await startMqttController(mqtt, { id });
  running.push(ctx);
  return ctx;
}

describe('broker security (real Mosquitto)', () => {
  it('connects over TLS with the test CA and publishes there', async () => {
    const sub = await Consumer.connect(broker.url, ['sekisho/tls-ok/status']);
    try {
      const { c } = await controller('tls-ok', { url: `mqtts://127.0.0.1:${broker.tlsPort}`, ca: pki.ca });
      await until(() => c.status().mqtt.connected, 'a TLS connection');
      expect(c.status().mqtt).toMatchObject({ tls: true, lastError: null });
      const m = await sub.waitFor(() => sub.on('sekisho/tls-ok/status')[0], 'status over TLS');
      expect(StatusPayload.parse(m.json).state).toBe('online');
      expect(broker.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as sekisho-tls-ok/);
    } finally {
      await sub.end();
    }
  });

  it('refuses a broker certificate from another CA; the controller keeps working and says why', async () => {
    const { c } = await controller('tls-wrong', {
      url: `mqtts://127.0.0.1:${broker.tlsPort}`,
      ca: pki.wrongCa,
    });
    await until(() => c.status().mqtt.lastError, 'a TLS error');
    expect(c.status().mqtt.connected).toBe(false);
    expect(c.status().mqtt.lastError).toMatch(/certificate|self.signed|unable to verify/i);
    // The door path does not care: a badge is decided and journaled, and queued for later.
    const out = c.simulateBadge('entry', 'AA00000001');
    expect(out.row?.type).toBe('access');
    expect(c.journal.outboxPeek(out.row!.seq - 1, 1)[0]?.seq).toBe(out.row!.seq);
    expect(broker.log()).not.toMatch(/as sekisho-tls-wrong/);
  });

  it('a client certificate is presented where the broker requires one', async () => {
    const url = `mqtts://127.0.0.1:${broker.mtlsPort}`;
    const { c } = await controller('mtls', { url, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    await until(() => c.status().mqtt.connected, 'a connection with a client certificate');
    const without = await controller('mtls-none', { url, ca: pki.ca });
    await until(() => without.c.status().mqtt.lastError, 'a refusal without a client certificate');
    expect(without.c.status().mqtt.connected).toBe(false);
  });

  it('username and passwordFile: connects; a wrong password is refused; a readable file is not used and never logged', async () => {
    const dir = tempDir('sekisho-pw-');
    const good = join(dir, 'good');
    writeFileSync(good, `${PASSWORD}\n`, { mode: 0o600 });
    const url = `mqtt://127.0.0.1:${broker.authPort}`;
    const ok = await controller('auth-ok', { url, username: 'sekisho', passwordFile: good });
    await until(() => ok.c.status().mqtt.connected, 'an authenticated connection');

    const bad = join(dir, 'bad');
    writeFileSync(bad, 'not-the-password', { mode: 0o600 });
    const wrong = await controller('auth-wrong', { url, username: 'sekisho', passwordFile: bad });
    await until(() => wrong.c.status().mqtt.lastError, 'a refusal');
    expect(wrong.c.status().mqtt.lastError).toMatch(/Not authorized|Bad user name or password/i);

    const open = join(dir, 'open');
    writeFileSync(open, PASSWORD);
    chmodSync(open, 0o644);
    const loose = await controller('auth-loose', { url, username: 'sekisho', passwordFile: open });
    expect(loose.c.status().mqtt).toMatchObject({
      connected: false,
      lastError: `mqtt.passwordFile ${open} is readable by others (mode 0644); chmod 640 it`,
    });
    // Journaled as a broker problem, and the controller runs on.
    await until(() => [...loose.c.journal.iterate(1)].some((r) => r.type === 'mqtt_disconnected'), 'the row');
    expect(loose.c.simulateBadge('entry', 'AA00000002').row).not.toBeNull();

    for (const ctx of [ok, wrong, loose]) {
      expect(ctx.logLines.length).toBeGreaterThan(0);
      expect(ctx.logLines.join('\n')).not.toContain(PASSWORD);
      expect(JSON.stringify([...ctx.c.journal.iterate(1)])).not.toContain(PASSWORD);
      expect(JSON.stringify(ctx.c.status())).not.toContain(PASSWORD);
    }
  });
});
