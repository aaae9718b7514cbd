/**
 * The `config_loaded` row each start writes (controller/runtime/config-loaded.ts), in-process on a
 * real config file and a real SQLite journal: the file's hash, the previous start it is compared
 * with (by seq, even when the clock went back), and a row without changes for the same rules.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigChangeStore } from '../../controller/approvals/config-changes.js';
import { ApprovalError } from '../../controller/approvals/errors.js';
import { type LoadedConfig, loadConfig } from '../../controller/config/index.js';
import type { Check } from '../../controller/doctor/check.js';
import { configChecks } from '../../controller/doctor/config.js';
import { ConfigLoadedRecord } from '../../controller/domain/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { openStorage } from '../../controller/storage.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders, tempDir, writeConfig } from '../helpers/controller.js';

const DAY = 86_400_000;

describe('config_loaded at start', () => {
  let running: Controller | undefined;
  afterEach(async () => {
    await running?.stop('test end');
    running = undefined;
  });

  const startOnce = async (loaded: LoadedConfig, at: number, startedBy?: string) => {
    running = await Controller.start({
      loaded,
      board: new SimBoard(),
      log: silentLogger,
      now: () => at,
      ...(startedBy ? { startedBy } : {}),
    });
    const [row] = running.journal.query({ types: ['config_loaded'], from: at, to: at + 1, limit: 1 });
    await running.stop('restart');
    running = undefined;
    return { seq: row!.seq, actor: row!.actor, data: ConfigLoadedRecord.parse(row!.data) };
  };

  it('hashes the file as read, compares with the latest start by seq, and writes a row without changes for the same rules', async () => {
    const dir = tempDir('sekisho-config-loaded-');
    const cfg = doorConfig(dir, simReaders(), { holidays: ['2027-01-01'] });
    const file = writeConfig(dir, cfg);
    const t0 = Date.parse('2027-03-01T00:00:00Z');

    const first = await startOnce(loadConfig(file), t0, 'cli:tanaka/root');
    expect(first.actor).toBe('cli:tanaka/root');
    expect(first.data).toMatchObject({
      file,
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
      previousSeq: null,
    });
    expect(first.data.modifiedAt).toEqual(expect.any(Number));

    // The clock set back a day (an RTC-less Pi before NTP): still compared with the latest start.
    writeConfig(dir, { ...cfg, holidays: ['2027-01-01', '2027-05-03'] });
    const second = await startOnce(loadConfig(file), t0 - DAY);
    expect(second.actor).toBeNull();
    expect(second.data.previousSeq).toBe(first.seq);
    expect(second.data.changes).toEqual([
      { path: 'holidays', old: ['2027-01-01'], new: ['2027-01-01', '2027-05-03'] },
    ]);

    // Operational keys and formatting only: another hash, the same rules, no changes.
    writeConfig(dir, {
      ...cfg,
      holidays: ['2027-01-01', '2027-05-03'],
      site: { id: 'test-site', name: 'Renamed' },
    });
    const third = await startOnce(loadConfig(file), t0 - 2 * DAY);
    expect(third.data.previousSeq).toBe(second.seq);
    expect(third.data.sha256).not.toBe(second.data.sha256);
    expect(third.data.accessSha256).toBe(second.data.accessSha256);
    expect(third.data.changes).toEqual([]);

    // The same file again: a row, no changes.
    const fourth = await startOnce(loadConfig(file), t0 + DAY);
    expect(fourth.data).toMatchObject({ previousSeq: third.seq, sha256: third.data.sha256, changes: [] });
  });

  it('records a config not read from a file with no hash', async () => {
    const dir = tempDir('sekisho-config-loaded-');
    const { config } = loadConfig(writeConfig(dir, doorConfig(dir, simReaders())));
    const row = await startOnce(
      { config, file: join(dir, 'in-memory.yaml'), storageDir: join(dir, 'data') },
      Date.now(),
    );
    expect(row.data).toMatchObject({ sha256: null, modifiedAt: null, previousSeq: null });
    expect(row.data.changes.length).toBeGreaterThan(0);
  });

  it('doctor says whether the file is the one in force, which keys the next start will journal, and what waits for review', async () => {
    const dir = tempDir('sekisho-config-doctor-');
    const cfg = doorConfig(dir, simReaders());
    const file = writeConfig(dir, cfg);
    const doctor = () => {
      const checks: Check[] = [];
      const loaded = loadConfig(file);
      const s = openStorage(loaded, { readonly: true });
      try {
        configChecks(loaded, s, (verdict, what, detail) => checks.push({ verdict, what, detail }));
      } finally {
        s.db.close();
      }
      return Object.fromEntries(checks.map((c) => [c.what, c]));
    };
    await startOnce(loadConfig(file), Date.now(), 'cli:tanaka/root');
    let c = doctor();
    expect(c['config in force']).toMatchObject({ verdict: 'OK' });
    expect(c['config review']).toMatchObject({ verdict: 'WARN' }); // the baseline
    expect(c['config review']!.detail).toContain('1 start(s)');

    writeConfig(dir, { ...cfg, site: { id: 'test-site', name: 'Renamed' } });
    c = doctor();
    expect(c['config in force']).toMatchObject({ verdict: 'OK' });
    expect(c['config in force']!.detail).toContain('no access-relevant key');

    writeConfig(dir, { ...cfg, visitors: { maxVisitorsPerEscort: 10 } });
    c = doctor();
    expect(c['config in force']).toMatchObject({ verdict: 'WARN' });
    expect(c['config in force']!.detail).toContain('visitors.maxVisitorsPerEscort');
  });

  it('refuses a credential that is no person, and the starter whatever credential they use', async () => {
    const dir = tempDir('sekisho-config-ack-');
    const file = writeConfig(dir, doorConfig(dir, simReaders()));
    const loaded = loadConfig(file);
    await startOnce(loaded, Date.now(), 'cli:tanaka/root');
    const s = openStorage(loaded);
    try {
      const store = new ConfigChangeStore(s.journal);
      const [load] = store.list();
      for (const actor of ['token:api', 'cli:root', 'cli:sekisho', 'system', 'user:tanaka', 'cli:tanaka']) {
        let err: unknown;
        try {
          store.acknowledge(load!.seq, actor, 'looks fine', Date.now());
        } catch (e) {
          err = e;
        }
        expect(err, actor).toBeInstanceOf(ApprovalError);
        expect((err as ApprovalError).code).toBe('self_approval_refused');
      }
      const refused = s.journal.query({ types: ['config_change_ack_refused'], limit: 10 }).reverse();
      expect(refused.map((r) => [r.actor, (r.data as { reason: string }).reason])).toEqual([
        ['token:api', 'no_person'],
        ['cli:root', 'no_person'],
        ['cli:sekisho', 'no_person'],
        ['system', 'no_person'],
        ['user:tanaka', 'started'],
        ['cli:tanaka', 'started'],
      ]);
      expect(store.get(load!.seq)).toMatchObject({ needsReview: true, acknowledged: null });
      expect(store.acknowledge(load!.seq, 'user:suzuki', 'checked', Date.now())).toMatchObject({
        needsReview: false,
        acknowledged: { actor: 'user:suzuki', note: 'checked' },
      });
    } finally {
      s.db.close();
    }
  });
});
