/**
 * The witness over TLS (issue #15): `sekisho witness --broker mqtts://… --ca PEM` against a real
 * Mosquitto with a test CA records the controller's signed checkpoint and its events; with a CA that
 * did not sign the broker's certificate it records nothing and says why. The controller publishes
 * over mqtts:// too (in-process, real SQLite journal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tempDir, until } from '../helpers/controller.js';
import { type Mosquitto, makeTestPki, startMosquitto, type TestPki } from '../helpers/mosquitto.js';
import { startMqttController } from '../mqtt/consumer.js';

interface Witness {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function spawnWitness(args: string[]): Witness {
  const proc = spawn(process.execPath, [BIN, 'witness', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SEKISHO_LOG: 'info' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, out: () => out, exited };
}

type Line = { kind: string; seq?: number; checkpoint?: { seq: number } };
const lines = (file: string): Line[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
    : [];

describe('sekisho witness over TLS', { timeout: 120_000 }, () => {
  const dir = tempDir('sekisho-witness-tls-');
  let pki: TestPki;
  let broker: Mosquitto;
  let ctx: Awaited<ReturnType<typeof startMqttController>> | undefined;
  const witnesses: Witness[] = [];
  const pinned = join(dir, 'pinned.pem');
  beforeAll(async () => {
    pki = makeTestPki(join(dir, 'pki'));
    broker = await startMosquitto({ pki });
    const url = `mqtts://127.0.0.1:${broker.tlsPort}`;
    ctx = await startMqttController({ url, ca: pki.ca }, { id: 'tls-wit', dir: join(dir, 'ctl') });
    writeFileSync(pinned, ctx.c.secrets.publicKeyPem);
    await until(() => ctx!.c.status().mqtt.connected, 'the controller over TLS');
  });
  afterAll(async () => {
    for (const w of witnesses) w.proc.kill('SIGKILL');
    await ctx?.c.stop('test end');
    await broker?.kill();
  });
  const args = (history: string, ca: string) => [
    '--broker',
    `mqtts://127.0.0.1:${broker.tlsPort}`,
    '--ca',
    ca,
    '--controller',
    'tls-wit',
    '--public-key',
    pinned,
    '--history',
    history,
  ];

  it('with the test CA: records the retained checkpoint and the new events', async () => {
    const history = join(dir, 'history.jsonl');
    const w = spawnWitness(args(history, pki.ca));
    witnesses.push(w);
    await until(() => w.out().includes('witness subscribed'), 'the witness to subscribe over TLS', 60_000);
    const start = ctx!.c.journal.latestCheckpoint()!.seq;
    await until(
      () => lines(history).some((l) => l.kind === 'checkpoint' && l.checkpoint?.seq === start),
      'the retained checkpoint in the history',
    );
    const out = ctx!.c.simulateBadge('entry', 'AB00000001');
    const seq = out.row!.seq;
    await until(
      () => lines(history).some((l) => l.kind === 'event' && l.seq === seq),
      'the event in the history',
    );
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(broker.log()).toMatch(
      new RegExp(`New connection from 127\\.0\\.0\\.1:\\d+ on port ${broker.tlsPort}`),
    );
  });

  it('with a CA that did not sign the broker: nothing recorded, and the log says why', async () => {
    const history = join(dir, 'wrong-ca.jsonl');
    const w = spawnWitness(args(history, pki.wrongCa));
    witnesses.push(w);
    await until(() => /broker connection problem/.test(w.out()), 'the TLS refusal in the log', 60_000);
    expect(w.out()).toMatch(/certificate|self.signed|unable to verify/i);
    expect(w.out()).not.toContain('witness subscribed');
    expect(lines(history).filter((l) => l.kind === 'checkpoint' || l.kind === 'event')).toEqual([]);
    w.proc.kill('SIGTERM');
    await w.exited;
  });
});
