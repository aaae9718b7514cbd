/**
 * The install guide's MQTT password file — `root:sekisho 0640` in a `root:sekisho 0750` folder
 * (docs/install.md) — read by the real `sekisho` command running as the service user, as systemd
 * and the installed wrapper run it: not root, primary group sekisho. Here the service user is the
 * made-up uid 4243 with gid 4242 (the tests run as root, which may switch to any id).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { StatusPayload } from '../../controller/mqtt/index.js';
import { BIN, doorConfig, simReaders, tempDir, until } from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { Consumer } from './consumer.js';

const SERVICE = { uid: 4243, gid: 4242 };
const PASSWORD = 'a-broker-password-for-the-service';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto({ users: { sekisho: PASSWORD } });
});
afterAll(async () => {
  await broker.kill();
});

/** /etc/sekisho and /var/lib/sekisho as install.sh makes them, with the password file of the guide. */
function installed(id: string) {
  const etc = tempDir('sekisho-etc-');
  chownSync(etc, 0, SERVICE.gid);
  chmodSync(etc, 0o750);
  const passwordFile = join(etc, 'mqtt-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  chownSync(passwordFile, 0, SERVICE.gid);
  chmodSync(passwordFile, 0o640);
  const state = tempDir('sekisho-state-');
  chownSync(state, SERVICE.uid, SERVICE.gid);
  chmodSync(state, 0o700);
  const cfg = doorConfig(state, simReaders(), {
    controller: { id },
    mqtt: { url: `mqtt://127.0.0.1:${broker.authPort}`, username: 'sekisho', passwordFile, reconnectS: 1 },
  });
  const config = join(etc, 'config.yaml');
  writeFileSync(config, stringify(cfg));
  chownSync(config, 0, SERVICE.gid);
  chmodSync(config, 0o640);
  mkdirSync(join(state, 'data'), { mode: 0o700 });
  chownSync(join(state, 'data'), SERVICE.uid, SERVICE.gid);
  return { config, passwordFile };
}

const asService = { ...SERVICE, env: { ...process.env, HOME: '/tmp', SEKISHO_LOG: 'warn' } };

describe('the install guide’s MQTT password file, read as the service user', () => {
  it('sekisho doctor accepts it and logs in to the broker; a file of another group fails', () => {
    const { config, passwordFile } = installed('svc-doctor');
    const run = () =>
      spawnSync(process.execPath, [BIN, 'doctor', '--config', config], {
        ...asService,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run();
    expect(ok.stdout).toMatch(
      new RegExp(
        `^OK +mqtt\\.passwordFile: ${passwordFile}: owner .*uid 0.*, group .*gid ${SERVICE.gid}.*, mode 0640$`,
        'm',
      ),
    );
    expect(ok.stdout).toMatch(/^OK +mqtt broker: 127\.0\.0\.1:\d+ accepted the connection as sekisho$/m);
    expect(ok.stdout).not.toContain(PASSWORD);

    chownSync(passwordFile, 0, 5555); // e.g. gpio: the technician is in it too
    const other = run();
    expect(other.status).toBe(1);
    expect(other.stdout).toMatch(
      /^FAIL mqtt\.passwordFile: .* is readable by group .*gid 5555.*, not by the group Sekisho runs as/m,
    );
    expect(other.stdout).not.toContain(PASSWORD);
  }, 120_000);

  it('sekisho start connects with it and publishes: what it sends leaves the box', async () => {
    const { config } = installed('svc-start');
    const sub = await Consumer.connect(broker.url, ['sekisho/svc-start/status']);
    const proc = spawn(process.execPath, [BIN, 'start', '--config', config], {
      ...asService,
      env: { ...asService.env, SEKISHO_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    try {
      const m = await sub.waitFor(
        () => sub.on('sekisho/svc-start/status').find((x) => StatusPayload.parse(x.json).state === 'online'),
        `the status "online" from the controller (its output so far: ${out})`,
        30_000,
      );
      expect(m.text).not.toContain(PASSWORD);
      expect(broker.log()).toMatch(
        /New client connected from 127\.0\.0\.1:\d+ as sekisho-svc-start .*u'sekisho'/,
      );
      expect(out).not.toContain(PASSWORD);
      // A clean stop once it serves (before that, SIGTERM is not yet its own).
      await until(() => /listening http/.test(out), 'the controller to serve', 30_000);
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    } catch (err) {
      throw new Error(`${String(err)}; the controller said:\n${out}`);
    } finally {
      await sub.end();
      proc.kill('SIGKILL');
    }
  }, 120_000);
});
