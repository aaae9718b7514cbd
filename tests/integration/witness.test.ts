/**
 * The witness, end to end: a real Mosquitto, the real controller (`sekisho start`) and
 * `sekisho witness` as a child process. The witness records events and signed checkpoints; then
 * an attacker with root on the stopped controller (the sqlite3 shell, the signing key read from
 * device-signing.pem) deletes or rewrites rows. Plain `sekisho verify` says the journal is intact;
 * `sekisho verify --witness` names the first missing or altered row. A second validly signed
 * checkpoint for a seq already seen, published with the broker and the key from the disk, makes the
 * witness alarm: a log line, a retained MQTT message, a history line and exit status 4. A history
 * edited after the fact is refused by both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, checkpointBytes } from '../../controller/journal/index.js';
import {
  BIN,
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { sqlite } from '../helpers/util.js';
import { Consumer } from '../mqtt/consumer.js';

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

type Line = { n: number; kind: string; [k: string]: unknown };
const historyLines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

const STAFF = '0A1B2C3D4E';
const UNKNOWN = 'DEADBEEF00';

describe('sekisho witness and verify --witness', { timeout: 240_000 }, () => {
  const dir = tempDir('sekisho-witness-');
  const storage = join(dir, 'data');
  const history = join(dir, 'witness', 'history.jsonl');
  const pinned = join(dir, 'pinned-public.pem');
  let broker: Mosquitto;
  let cfgFile: string;
  let ctl: Running | undefined;
  let witness: Witness | undefined;
  const consumers: Consumer[] = [];
  const base = 'sekisho/test-ctl';
  let lastCheckpoint = 0; // the newest checkpoint the controller signed (run 1's stop)
  let head = 0; // the journal's head after run 2's kill -9

  const witnessArgs = (extra: string[] = []) => [
    '--broker',
    broker.url,
    '--controller',
    'test-ctl',
    '--public-key',
    pinned,
    '--history',
    history,
    ...extra,
  ];
  const witnessed = (kind: string, seq: number) =>
    historyLines(history).some(
      (l) =>
        l.kind === kind && (kind === 'checkpoint' ? (l.checkpoint as { seq: number }).seq : l.seq) === seq,
    );
  const badge = (credential: string) => ctl!.api('POST', '/api/sim/badge', { reader: 'entry', credential });
  const dbHead = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('SELECT MAX(seq) AS s FROM journal').get() as { s: number }).s;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    broker = await startMosquitto({ users: { 'witness-test': 'witness-password-1' } });
    mkdirSync(join(dir, 'witness'));
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { demo: { seed: true }, mqtt: { url: broker.url, reconnectS: 1 } }),
    );
  });

  afterAll(async () => {
    witness?.proc.kill('SIGKILL');
    await ctl?.kill9();
    for (const c of consumers) await c.end();
    await broker?.kill();
  });

  it('records every event and signed checkpoint, across a clean stop and a kill -9', async () => {
    ctl = await startController(cfgFile, storage);
    // The key is pinned once, from the installed device, before anything is to be witnessed.
    copyFileSync(join(storage, 'device-public.pem'), pinned);
    witness = spawnWitness(witnessArgs());
    await until(() => witness!.out().includes('witness subscribed'), 'the witness to subscribe', 60_000);
    for (const c of [STAFF, UNKNOWN, STAFF, UNKNOWN]) expect((await badge(c)).status).toBe(200);
    expect(await ctl.stop()).toBe(0); // a clean stop signs a checkpoint and publishes it
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    lastCheckpoint = (db.prepare('SELECT MAX(seq) AS s FROM checkpoints').get() as { s: number }).s;
    db.close();
    expect(lastCheckpoint).toBeGreaterThan(4);
    await until(() => witnessed('checkpoint', lastCheckpoint), 'the stop checkpoint in the history');

    // Run 2: more rows, then kill -9: no checkpoint covers them, only the witness saw them.
    ctl = await startController(cfgFile, storage);
    for (const c of [UNKNOWN, STAFF, UNKNOWN]) expect((await badge(c)).status).toBe(200);
    const runHead = dbHead(join(storage, 'journal.db'));
    await until(() => witnessed('event', runHead), 'the newest event in the history');
    await ctl.kill9();
    ctl = undefined;
    head = dbHead(join(storage, 'journal.db'));
    const db2 = new Database(join(storage, 'journal.db'), { readonly: true });
    lastCheckpoint = (db2.prepare('SELECT MAX(seq) AS s FROM checkpoints').get() as { s: number }).s;
    db2.close();
    expect(head).toBeGreaterThan(lastCheckpoint);
    await until(() => witnessed('event', head), 'the last event in the history');

    witness.proc.kill('SIGTERM');
    expect(await witness.exited).toBe(0);
    const lines = historyLines(history);
    expect(lines[0]).toMatchObject({
      n: 1,
      kind: 'history',
      format: 'sekisho-witness/1',
      controller: 'test-ctl',
    });
    expect(lines.at(-1)).toMatchObject({ kind: 'stopped', reason: 'SIGTERM' });
    // The retained checkpoint, delivered again at run 2's connection, is recorded once.
    expect(
      lines.filter(
        (l) => l.kind === 'checkpoint' && (l.checkpoint as { seq: number }).seq === lastCheckpoint,
      ),
    ).toHaveLength(1);
    expect(lines.filter((l) => l.kind === 'alarm')).toEqual([]);
    expect(cli(['verify', '--config', cfgFile]).status).toBe(0);
    const agrees = cli(['verify', '--config', cfgFile, '--witness', history, '--public-key', pinned]);
    expect(agrees.stdout).toContain('journal agrees with the witness');
    expect(agrees.status).toBe(0);
    expect(cli(['witness', '--check', '--history', history, '--public-key', pinned]).status).toBe(0);
  });

  /** A copy of the stopped controller's files, with a config of its own, for one attack. */
  function copyOf(name: string): { cfg: string; db: string; data: string } {
    const d = join(dir, name);
    cpSync(storage, join(d, 'data'), { recursive: true });
    const cfg = writeConfig(d, doorConfig(d, simReaders(), { demo: { seed: true } }));
    return { cfg, db: join(d, 'data', 'journal.db'), data: join(d, 'data') };
  }
  const dropTriggers = (db: string) =>
    sqlite(
      db,
      ['journal_no_update', 'journal_no_delete', 'checkpoints_no_update', 'checkpoints_no_delete']
        .map((t) => `DROP TRIGGER ${t};`)
        .join('\n'),
    );
  const verifyWithWitness = (cfg: string) =>
    cli(['verify', '--config', cfg, '--witness', history, '--public-key', pinned]);

  it('case 2: rows deleted after the last signed checkpoint are named', () => {
    const c = copyOf('case2');
    dropTriggers(c.db);
    sqlite(
      c.db,
      `DELETE FROM outbox WHERE seq > ${lastCheckpoint}; DELETE FROM journal WHERE seq > ${lastCheckpoint};`,
    );
    // The local chain alone is consistent: plain verify only sees the dropped triggers (exit 3).
    expect(cli(['verify', '--config', c.cfg]).status).toBe(3);
    const r = verifyWithWitness(c.cfg);
    expect(r.stdout).toContain(`JOURNAL NOT INTACT: first bad row seq ${lastCheckpoint + 1}:`);
    expect(r.stdout).toContain(`rows ${lastCheckpoint + 1} to ${head}`);
    expect(r.status).toBe(1);
  });

  it('case 3: the newest rows deleted with the checkpoints above them are named', () => {
    const c = copyOf('case3');
    const keep = lastCheckpoint - 3;
    dropTriggers(c.db);
    sqlite(
      c.db,
      `DELETE FROM checkpoints WHERE seq > ${keep}; DELETE FROM snapshots WHERE seq > ${keep};` +
        `DELETE FROM outbox WHERE seq > ${keep}; DELETE FROM journal WHERE seq > ${keep};`,
    );
    expect(cli(['verify', '--config', c.cfg]).status).toBe(3);
    const r = verifyWithWitness(c.cfg);
    expect(r.stdout).toContain(`JOURNAL NOT INTACT: first bad row seq ${keep + 1}:`);
    expect(r.status).toBe(1);
  });

  it('case 4: a row edited, the chain re-hashed and re-signed with the key on the disk, is named', () => {
    const c = copyOf('case4');
    dropTriggers(c.db);
    const db = new Database(c.db);
    // The first denied badge witnessed: it becomes a grant.
    const target = db
      .prepare(
        'SELECT seq, bytes FROM journal WHERE type = \'access\' AND bytes LIKE \'%"result":"denied"%\' ORDER BY seq LIMIT 1',
      )
      .get() as { seq: number; bytes: string };
    expect(target.seq).toBeLessThan(lastCheckpoint);
    const rows = db
      .prepare('SELECT seq, bytes, hash FROM journal WHERE seq >= ? ORDER BY seq')
      .all(target.seq) as {
      seq: number;
      bytes: string;
      hash: string;
    }[];
    let prev = (db.prepare('SELECT hash FROM journal WHERE seq = ?').get(target.seq - 1) as { hash: string })
      .hash;
    const update = db.prepare('UPDATE journal SET bytes = ?, hash = ? WHERE seq = ?');
    for (const r of rows) {
      const bytes =
        r.seq === target.seq ? r.bytes.replace('"result":"denied"', '"result":"granted"') : r.bytes;
      prev = chainHash(prev, bytes);
      update.run(bytes, prev, r.seq);
    }
    const key = createPrivateKey(readFileSync(join(c.data, 'device-signing.pem'), 'utf8'));
    for (const cp of db.prepare('SELECT * FROM checkpoints WHERE seq >= ?').all(target.seq) as {
      seq: number;
      at: number;
      controller: string;
    }[]) {
      const hash = (db.prepare('SELECT hash FROM journal WHERE seq = ?').get(cp.seq) as { hash: string })
        .hash;
      const signature = sign(null, Buffer.from(checkpointBytes({ ...cp, hash }), 'utf8'), key).toString(
        'base64',
      );
      db.prepare('UPDATE checkpoints SET hash = ?, signature = ? WHERE seq = ?').run(hash, signature, cp.seq);
    }
    db.prepare('DELETE FROM snapshots').run();
    db.close();
    expect(cli(['verify', '--config', c.cfg]).status).toBe(3);
    const r = verifyWithWitness(c.cfg);
    expect(r.stdout).toContain(
      `JOURNAL NOT INTACT: first bad row seq ${target.seq}: row ${target.seq} (access) differs`,
    );
    expect(r.status).toBe(1);
    const json = JSON.parse(
      cli(['verify', '--config', c.cfg, '--witness', history, '--public-key', pinned, '--json']).stdout,
    );
    expect(json).toMatchObject({ ok: false, firstBadSeq: target.seq, kind: 'witnessed_altered' });
  });

  it('a history edited after the fact is refused by verify and by the witness', async () => {
    const edited = join(dir, 'edited.jsonl');
    const lines = readFileSync(history, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"kind":"event"'));
    lines[i] = lines[i]!.replace(/"hash":"([0-9a-f])/, (_m, d: string) => `"hash":"${d === '0' ? '1' : '0'}`);
    writeFileSync(edited, lines.join('\n'));
    const r = cli(['verify', '--config', cfgFile, '--witness', edited, '--public-key', pinned]);
    expect(r.stdout).toContain(`WITNESS HISTORY NOT USABLE: line ${i + 2} does not chain from line ${i + 1}`);
    expect(r.status).toBe(2);
    const w = spawnWitness(witnessArgs().map((a) => (a === history ? edited : a)));
    expect(await w.exited).toBe(3);
    expect(w.out()).toContain('refusing the history');
    expect(cli(['witness', '--check', '--history', edited]).status).toBe(3);
  });

  it('equivocation: a second validly signed checkpoint for a seen seq raises the alarm everywhere', async () => {
    const alarms = await Consumer.connect(broker.url, [`${base}/witness/alarm`]);
    consumers.push(alarms);
    witness = spawnWitness(witnessArgs()); // resumes the history
    await until(() => witness!.out().includes('witness subscribed'), 'the witness to subscribe', 60_000);
    const before = historyLines(history).length;
    // The attacker: the broker credentials and the signing key, both from the Pi's disk.
    const key = createPrivateKey(readFileSync(join(storage, 'device-signing.pem'), 'utf8'));
    const forged = { seq: lastCheckpoint, hash: 'ab'.repeat(32), at: Date.now(), controller: 'test-ctl' };
    const signature = sign(null, Buffer.from(checkpointBytes(forged), 'utf8'), key).toString('base64');
    const keyId = (
      JSON.parse(cli(['witness', '--check', '--history', history, '--json']).stdout) as { keyId: string }
    ).keyId;
    await alarms.client.publishAsync(
      `${base}/journal/checkpoint`,
      JSON.stringify({ v: 1, ...forged, time: new Date(forged.at).toISOString(), signature, keyId }),
      { qos: 1, retain: true },
    );
    const alarm = await alarms.waitFor(
      () => alarms.last<{ alarm: string; seq: number }>(`${base}/witness/alarm`),
      'the alarm message',
    );
    expect(alarm).toMatchObject({ alarm: 'equivocation', seq: lastCheckpoint, controller: 'test-ctl' });
    expect(alarms.on(`${base}/witness/alarm`)[0]!.retain).toBe(false); // live delivery; the broker keeps it retained
    expect(witness.out()).toContain('WITNESS ALARM equivocation');
    const added = historyLines(history).slice(before);
    expect(added.find((l) => l.kind === 'alarm')).toMatchObject({
      alarm: 'equivocation',
      seq: lastCheckpoint,
    });
    witness.proc.kill('SIGTERM');
    expect(await witness.exited).toBe(4);
    // A late subscriber gets the retained alarm.
    const late = await Consumer.connect(broker.url, [`${base}/witness/alarm`]);
    consumers.push(late);
    await late.waitFor(() => late.last(`${base}/witness/alarm`), 'the retained alarm');

    // --exit-on-alarm: a checkpoint that does not verify (forged without the key) stops it at once.
    // This time with its own broker account (a listener that requires a user name and password).
    const password = join(dir, 'witness-password');
    writeFileSync(password, 'witness-password-1\n', { mode: 0o600 });
    witness = spawnWitness(
      witnessArgs(['--exit-on-alarm', '--username', 'witness-test', '--password-file', password]).map((a) =>
        a === broker.url ? `mqtt://127.0.0.1:${broker.authPort}` : a,
      ),
    );
    await until(() => witness!.out().includes('witness subscribed'), 'the witness to subscribe', 60_000);
    await alarms.client.publishAsync(
      `${base}/journal/checkpoint`,
      JSON.stringify({
        v: 1,
        ...forged,
        seq: head + 5,
        time: new Date(forged.at).toISOString(),
        signature,
        keyId,
      }),
      { qos: 1, retain: true },
    );
    expect(await witness.exited).toBe(4);
    expect(witness.out()).toContain('WITNESS ALARM bad_signature');
    expect(historyLines(history).at(-2)).toMatchObject({
      kind: 'alarm',
      alarm: 'bad_signature',
      seq: head + 5,
    });
    expect(witness.out()).not.toContain('witness-password-1');
    expect(historyLines(history).findLast((l) => l.kind === 'started')).toMatchObject({
      broker: `127.0.0.1:${broker.authPort}`,
    });
    // The history stays intact through all of it; verify lists the witness's alarms.
    expect(cli(['witness', '--check', '--history', history]).status).toBe(0);
    const r = cli(['verify', '--config', cfgFile, '--witness', history, '--public-key', pinned]);
    // Three alarms: the forgery against the signed checkpoint and against the event at its seq, and the bad signature.
    expect(r.stdout).toContain('the witness raised 3 alarm(s)');
    // The key signed two hashes for one seq: the journal cannot agree with both.
    expect(r.stdout).toContain(`JOURNAL NOT INTACT: first bad row seq ${lastCheckpoint}:`);
  });

  it('bad_row: an event whose bytes do not give its hash is recomputed, refused and alarmed', async () => {
    const publisher = await Consumer.connect(broker.url, [`${base}/witness/alarm`]);
    consumers.push(publisher);
    witness = spawnWitness(witnessArgs(['--exit-on-alarm']));
    await until(() => witness!.out().includes('witness subscribed'), 'the witness to subscribe', 60_000);
    const headHash = sqlite(
      join(storage, 'journal.db'),
      `SELECT hash FROM journal WHERE seq = ${head};`,
    ).trim();
    const seq = head + 1;
    const bytes = `{"v":2,"seq":${seq},"at":1,"type":"controller_stopped","door":null,"person":null,"actor":null,"data":{"reason":"forged"}}`;
    // The claimed hash is what a comparison of prevHash strings would accept; the bytes say otherwise.
    const claimed = chainHash(headHash, bytes.replace('forged', 'honest'));
    await publisher.client.publishAsync(
      `${base}/events`,
      JSON.stringify({
        v: 1,
        id: `test-ctl:${seq}`,
        seq,
        type: 'controller_stopped',
        at: 1,
        hash: claimed,
        prevHash: headHash,
        bytes,
        withheld: null,
      }),
      { qos: 1 },
    );
    expect(await witness.exited).toBe(4);
    expect(witness.out()).toContain('WITNESS ALARM bad_row');
    const lines = historyLines(history);
    expect(lines.at(-2)).toMatchObject({ kind: 'alarm', alarm: 'bad_row', seq });
    expect(lines.some((l) => l.kind === 'event' && l.seq === seq)).toBe(false);
    expect(cli(['witness', '--check', '--history', history]).status).toBe(0);
  });
});
