/**
 * Issue #15, done the way an attacker with root would: the real controller is started through the
 * CLI with a real Mosquitto, stopped, and its files are then changed with the sqlite3 shell (and the
 * signing key read from disk). What finds it is `sekisho verify` (output and exit code) and the
 * Integrity page. The published checkpoints are what a subscriber off the device received on
 * `…/journal/checkpoint` while the controller ran; the pinned key is the public key copied off the
 * device at installation.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, checkpointBytes, publicKeyFingerprint } from '../../controller/journal/index.js';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { sqlite } from '../helpers/util.js';
import { Consumer } from '../mqtt/consumer.js';

const PROTECTIVE = [
  'journal_no_update',
  'journal_no_delete',
  'journal_seq_contiguous',
  'checkpoints_no_update',
  'checkpoints_no_delete',
];

describe('sekisho verify against an attacker with root (issue #15)', () => {
  const dir = tempDir('sekisho-verify-attacks-');
  const storage = join(dir, 'data');
  const topic = 'sekisho/test-ctl/journal/checkpoint';
  let broker: Mosquitto;
  let sub: Consumer;
  let ctl: Running | undefined;
  /** Kept off the device: the public key copied at installation and the checkpoints a subscriber received. */
  const pinned = join(dir, 'pinned.pem');
  const published = join(dir, 'published.jsonl');
  /** The seqs of the two checkpoints published at the two clean stops. */
  let first = 0;
  let second = 0;

  async function runAndStop(badges: number, from: number): Promise<number> {
    ctl = await startController(writeConfig(dir, runConfig()), storage);
    for (let i = 0; i < badges; i++) {
      const r = await ctl.api('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: `AB${String(from + i).padStart(8, '0')}`,
      });
      expect(r.status).toBe(200);
    }
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
    const seq = Number(sqlite(join(storage, 'journal.db'), 'SELECT MAX(seq) FROM checkpoints;').trim());
    // The checkpoint signed at the stop reached the subscriber off the device.
    await sub.waitFor(() => sub.json<{ seq: number }>(topic).find((m) => m.seq === seq), `checkpoint ${seq}`);
    return seq;
  }

  function runConfig() {
    return doorConfig(dir, simReaders(), { mqtt: { url: broker.url, reconnectS: 1 } });
  }

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await Consumer.connect(broker.url, [topic]);
    first = await runAndStop(6, 0);
    second = await runAndStop(6, 100);
    expect(second).toBeGreaterThan(first + 3);
    // What the subscriber wrote down: each message exactly as received, one per line.
    const lines = [...new Set(sub.on(topic).map((m) => m.text))];
    expect(lines.length).toBeGreaterThanOrEqual(2);
    writeFileSync(published, `${lines.join('\n')}\n`);
    copyFileSync(join(storage, 'device-public.pem'), pinned);
  }, 120_000);

  afterAll(async () => {
    await ctl?.kill9();
    await sub?.end();
    await broker?.kill();
  });

  let copies = 0;
  /** A copy of the stopped controller's storage folder, changed with `sql`; returns its config. */
  function attacked(sql: string): { cfg: string; data: string; db: string } {
    const d = join(dir, `copy-${++copies}`);
    const data = join(d, 'data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(storage)) copyFileSync(join(storage, f), join(data, f));
    const db = join(data, 'journal.db');
    if (sql) sqlite(db, sql);
    return { cfg: writeConfig(d, doorConfig(d, simReaders())), data, db };
  }

  /** The SQL that re-creates the triggers exactly as they were (read before dropping them). */
  function triggerSql(db: string): string {
    const rows = JSON.parse(
      sqlite(
        db,
        `.mode json\nSELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN (${PROTECTIVE.map((t) => `'${t}'`).join(', ')});`,
      ) || '[]',
    ) as { sql: string }[];
    return rows.map((r) => `${r.sql};`).join('\n');
  }
  const dropAll = PROTECTIVE.map((t) => `DROP TRIGGER ${t};`).join('\n');

  describe('case 1: the protective triggers are dropped or weakened', () => {
    it('dropped: verify exits 3, prints each warning, and never says "journal intact"', async () => {
      const a = attacked(dropAll);
      const r = cli(['verify', '--config', a.cfg]);
      expect(r.status).toBe(3);
      expect(r.stdout).not.toMatch(/journal intact/);
      expect(r.stdout).toMatch(/^PROTECTIONS MISSING: the hash chain verifies \(\d+ rows/);
      for (const t of PROTECTIVE) expect(r.stdout).toContain(`warning: protective trigger ${t} is missing`);
      expect(r.stdout).toMatch(/What the chain cannot show: rows removed from its end/);

      // A controller started on these files reports the same on its Integrity API (the page itself:
      // tests/dashboards/alarms-integrity.test.ts).
      ctl = await startController(a.cfg, a.data);
      try {
        const api = await ctl.api<{ protections: { intact: boolean; problems: { name: string }[] } }>(
          'GET',
          '/api/integrity',
        );
        expect(api.body.protections.intact).toBe(false);
        expect(api.body.protections.problems.map((p) => p.name).sort()).toEqual([...PROTECTIVE].sort());
      } finally {
        await ctl.stop();
        ctl = undefined;
      }
    }, 120_000);

    it('re-created with a weaker WHEN: verify exits 3 and names the altered trigger', () => {
      const a = attacked(`DROP TRIGGER journal_no_delete;
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
        WHEN OLD.seq < 3
        BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: DELETE refused'); END;`);
      const r = cli(['verify', '--config', a.cfg]);
      expect(r.status).toBe(3);
      expect(r.stdout).toMatch(
        /warning: protective trigger journal_no_delete is altered: .*WHEN OLD\.seq < 3/,
      );
      expect(r.stdout).not.toMatch(/journal intact/);
      const json = JSON.parse(cli(['verify', '--config', a.cfg, '--json']).stdout);
      expect(json.protections.problems).toEqual([
        { name: 'journal_no_delete', table: 'journal', problem: 'altered' },
      ]);
      expect(json.exitCode).toBe(3);
    }, 60_000);

    it('tampering proven wins over missing triggers: exit 1', () => {
      const a = attacked(`${dropAll} DELETE FROM journal WHERE seq = 3;`);
      const r = cli(['verify', '--config', a.cfg]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^JOURNAL NOT INTACT: first bad row seq 3: row 3 is missing/);
      expect(r.stdout).toContain('warning: protective trigger journal_no_delete is missing');
    }, 60_000);
  });

  describe('case 3: the newest rows and the checkpoints above them are deleted', () => {
    function truncate() {
      const a = attacked('');
      const restore = triggerSql(a.db);
      sqlite(
        a.db,
        `${dropAll}
        DELETE FROM outbox WHERE seq > ${first};
        DELETE FROM journal WHERE seq > ${first};
        DELETE FROM checkpoints WHERE seq > ${first};
        DELETE FROM snapshots WHERE seq > ${first};
        ${restore}`,
      );
      return a;
    }

    it('plain verify cannot see it (the documented limit)', () => {
      const r = cli(['verify', '--config', truncate().cfg]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^journal intact: ${first} rows`));
      expect(r.stdout).toContain("key: the device's own key");
      expect(r.stdout).toContain('published checkpoints: none given');
    }, 60_000);

    it('with the published checkpoints and the pinned key: exit 1, the first missing seq named', () => {
      const a = truncate();
      const r = cli(['verify', '--config', a.cfg, '--checkpoints', published, '--public-key', pinned]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(
          `^JOURNAL NOT INTACT: first bad row seq ${first + 1}: the journal ends at seq ${first}, .*covers seq \\d+: rows ${first + 1} to \\d+ were removed \\(truncated\\) \\[the published checkpoint on line \\d+ of ${published}\\]`,
        ),
      );
      const fp = publicKeyFingerprint(createPublicKey(readFileSync(pinned, 'utf8')));
      expect(fp).toMatch(/^SHA256:([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
      expect(r.stdout).toContain(`key: the pinned public key ${pinned}, ${fp}`);
      // Without the pinned key, the device's key checks them, and the output says what that is worth.
      const device = cli(['verify', '--config', a.cfg, '--checkpoints', published]);
      expect(device.status).toBe(1);
      expect(device.stdout).toMatch(/root on the device can replace it together with the signing key/);
    }, 60_000);
  });

  describe('case 4: a row edited, the chain re-hashed and the checkpoints re-signed with the key on disk', () => {
    function rewrite() {
      const a = attacked('');
      const restore = triggerSql(a.db);
      const rows = JSON.parse(
        sqlite(a.db, '.mode json\nSELECT seq, bytes, hash FROM journal ORDER BY seq;'),
      ) as { seq: number; bytes: string; hash: string }[];
      const victim = rows.find((r) => r.bytes.includes('"type":"access"') && r.seq < first)!;
      expect(victim).toBeDefined();
      const key = createPrivateKey(readFileSync(join(a.data, 'device-signing.pem'), 'utf8'));
      const sql: string[] = [dropAll, 'DELETE FROM snapshots;'];
      let prev = rows[victim.seq - 2]?.hash ?? '0'.repeat(64);
      const newHash = new Map<number, string>();
      for (const r of rows.filter((x) => x.seq >= victim.seq)) {
        const bytes =
          r.seq === victim.seq ? r.bytes.replace('"direction":"in"', '"direction":"out"') : r.bytes;
        prev = chainHash(prev, bytes);
        newHash.set(r.seq, prev);
        sql.push(
          `UPDATE journal SET bytes = '${bytes.replaceAll("'", "''")}', hash = '${prev}' WHERE seq = ${r.seq};`,
        );
      }
      const cps = JSON.parse(
        sqlite(a.db, '.mode json\nSELECT seq, hash, at, controller FROM checkpoints ORDER BY seq;'),
      ) as { seq: number; hash: string; at: number; controller: string }[];
      for (const cp of cps.filter((c) => newHash.has(c.seq))) {
        const hash = newHash.get(cp.seq)!;
        const signature = sign(null, Buffer.from(checkpointBytes({ ...cp, hash }), 'utf8'), key).toString(
          'base64',
        );
        sql.push(
          `UPDATE checkpoints SET hash = '${hash}', signature = '${signature}' WHERE seq = ${cp.seq};`,
        );
      }
      expect(sql.join('\n')).toContain('"direction":"out"');
      sql.push(restore);
      sqlite(a.db, sql.join('\n'));
      return a;
    }

    it('plain verify, even with the pinned key, cannot see it (the documented limit)', () => {
      const a = rewrite();
      expect(cli(['verify', '--config', a.cfg]).status).toBe(0);
      expect(cli(['verify', '--config', a.cfg, '--public-key', pinned]).status).toBe(0);
    }, 60_000);

    it('with the checkpoints published before: exit 1, rewritten', () => {
      const a = rewrite();
      const r = cli(['verify', '--config', a.cfg, '--checkpoints', published, '--public-key', pinned]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(
        /^JOURNAL NOT INTACT: first bad row seq (\d+): row \1's hash differs from the checkpoint signed at .*: the chain after seq \d+ was rewritten and re-hashed \[the published checkpoint on line \d+/,
      );
    }, 60_000);
  });

  it('a signing key replaced on the device: the pinned key names the foreign key', () => {
    const a = attacked('');
    const restore = triggerSql(a.db);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(a.data, 'device-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    writeFileSync(join(a.data, 'device-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const cps = JSON.parse(
      sqlite(a.db, '.mode json\nSELECT seq, hash, at, controller FROM checkpoints ORDER BY seq;'),
    ) as { seq: number; hash: string; at: number; controller: string }[];
    const keyId = publicKeyFingerprint(publicKey).slice(7).replaceAll(' ', '').slice(0, 16);
    const sql = [dropAll];
    for (const cp of cps) {
      const signature = sign(null, Buffer.from(checkpointBytes(cp), 'utf8'), privateKey).toString('base64');
      sql.push(
        `UPDATE checkpoints SET signature = '${signature}', key_id = '${keyId}' WHERE seq = ${cp.seq};`,
      );
    }
    sqlite(a.db, `${sql.join('\n')}\n${restore}`);
    expect(cli(['verify', '--config', a.cfg]).status).toBe(0);
    const r = cli(['verify', '--config', a.cfg, '--public-key', pinned]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`does not carry a valid signature \\(it names key ${keyId}, expected [0-9a-f]{16}\\)`),
    );
    expect(r.stdout).toContain(
      `note: the key on the device is a different one (${publicKeyFingerprint(publicKey)})`,
    );
  });

  it('a bad line in the checkpoints file is a usage error naming the line (exit 2)', () => {
    const a = attacked('');
    const bad = join(dir, 'bad.jsonl');
    const good = readFileSync(published, 'utf8').split('\n')[0]!;
    writeFileSync(bad, `${good}\n\n{"seq":"x"}\n`);
    const r = cli(['verify', '--config', a.cfg, '--checkpoints', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--checkpoints ${bad} line 3: `);
    writeFileSync(bad, `${good}\nnot json\n`);
    expect(cli(['verify', '--config', a.cfg, '--checkpoints', bad]).stderr).toContain('line 2: not JSON');
    const other = JSON.stringify({ ...JSON.parse(good), controller: 'another-ctl' });
    writeFileSync(bad, `${other}\n`);
    expect(cli(['verify', '--config', a.cfg, '--checkpoints', bad]).stderr).toMatch(
      /line 1: a checkpoint of controller "another-ctl", but this journal is controller "test-ctl"'s/,
    );
    // A pinned key that cannot be the device's is refused before anything is checked.
    const rsa = join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const wrongKind = cli(['verify', '--config', a.cfg, '--public-key', rsa]);
    expect([wrongKind.status, wrongKind.stderr]).toEqual([2, expect.stringContaining('holds a rsa key')]);
    // The plain form of the checkpoints table is accepted too.
    const { v: _v, time: _t, ...plain } = JSON.parse(good);
    writeFileSync(bad, `${JSON.stringify(plain)}\n`);
    expect(cli(['verify', '--config', a.cfg, '--checkpoints', bad]).status).toBe(0);
  }, 120_000);
});
