/**
 * The checkpoint cadence (issue #15 case 2): a checkpoint at every start and clean stop, and inside
 * the commit that makes N rows or S seconds since the latest, so that what a kill -9 leaves unsigned
 * is at most the configured window. And the start check: a journal cut back behind its own signed
 * checkpoint is not appended to silently.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders, tempDir } from '../helpers/controller.js';
import { sqlite } from '../helpers/util.js';

const running: Controller[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop('test');
});

function start(dir: string, storage: Record<string, unknown>, now?: () => number) {
  const cfg = doorConfig(dir, simReaders(), {});
  const config = parseConfig(stringify({ ...cfg, storage: { ...cfg.storage, ...storage } }));
  return Controller.start({
    loaded: { config, file: join(dir, 'c.yaml'), storageDir: join(dir, 'data') },
    board: new SimBoard(),
    log: silentLogger,
    ...(now ? { now } : {}),
  }).then((c) => {
    running.push(c);
    return c;
  });
}

/** What another process (an attacker, or the test after a kill -9) sees in the file. */
function onDisk(dir: string) {
  const db = new Database(join(dir, 'data', 'journal.db'), { readonly: true });
  try {
    const head = db.prepare<[], { seq: number }>('SELECT MAX(seq) AS seq FROM journal').get()!.seq;
    const cps = db.prepare<[], { seq: number }>('SELECT seq FROM checkpoints ORDER BY seq').all();
    const types = db
      .prepare<[], { seq: number; type: string }>('SELECT seq, type FROM journal ORDER BY seq')
      .all();
    return { head, checkpoints: cps.map((c) => c.seq), types };
  } finally {
    db.close();
  }
}

describe('checkpoint cadence', () => {
  it('every N rows inside the commit, at start and at stop: a crash leaves fewer than N rows unsigned', async () => {
    const dir = tempDir('sekisho-cadence-');
    const c = await start(dir, { checkpointEveryRows: 4, checkpointEveryS: 3600 });
    const started = onDisk(dir);
    expect(started.checkpoints.at(-1)).toBe(started.head); // the start's checkpoint, after its rows
    for (let i = 0; i < 23; i++)
      c.simulateBadge(i % 2 ? 'entry' : 'exit', `DEADBEEF${String(i).padStart(2, '0')}`);
    // As a kill -9 would leave it: no stop, read the file as it is.
    const crashed = onDisk(dir);
    expect(crashed.head - started.head).toBeGreaterThanOrEqual(23);
    const latest = crashed.checkpoints.at(-1)!;
    expect(crashed.head - latest).toBeLessThan(4);
    // Signed as rows came, not only at the end: one every 4 rows.
    const since = crashed.checkpoints.slice(started.checkpoints.length - 1);
    const steps = since.slice(1).map((s, i) => s - since[i]!);
    expect(steps, JSON.stringify(crashed.checkpoints)).toEqual(steps.map(() => 4));
    await c.stop('test');
    running.length = 0;
    const stopped = onDisk(dir);
    expect(stopped.checkpoints.at(-1)).toBe(stopped.head);
    expect(stopped.types.at(-1)?.type).toBe('controller_stopped');
  });

  it('after S seconds since the latest checkpoint, the next row carries one in its commit', async () => {
    const dir = tempDir('sekisho-cadence-');
    let clock = Date.UTC(2026, 5, 1, 9);
    const c = await start(dir, { checkpointEveryRows: 1000, checkpointEveryS: 5 }, () => clock);
    const base = onDisk(dir).checkpoints.length;
    c.simulateBadge('entry', 'DEADBEEF01');
    clock += 1000;
    c.simulateBadge('entry', 'DEADBEEF02');
    expect(onDisk(dir).checkpoints.length).toBe(base); // within S seconds and N rows: not yet
    clock += 5000;
    c.simulateBadge('entry', 'DEADBEEF03');
    const after = onDisk(dir);
    expect(after.checkpoints.length).toBe(base + 1);
    expect(after.checkpoints.at(-1)).toBe(after.head);
  });
});

describe('the start check', () => {
  it('a journal cut back behind its signed checkpoint: gap row, critical alarm, no seq reused, fresh checkpoint', async () => {
    const dir = tempDir('sekisho-truncate-');
    let c = await start(dir, { checkpointEveryRows: 4 });
    for (let i = 0; i < 12; i++) c.simulateBadge('entry', `DEADBEEF${String(i).padStart(2, '0')}`);
    await c.stop('test');
    running.length = 0;
    const before = onDisk(dir);
    const file = join(dir, 'data', 'journal.db');
    // Root with the sqlite3 shell: the newest rows go, the checkpoints stay.
    const cut = before.head - 6;
    sqlite(
      file,
      `DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq > ${cut}; DELETE FROM snapshots;`,
    );

    c = await start(dir, {});
    const after = onDisk(dir);
    const gap = after.types.find((r) => r.type === 'journal_truncated')!;
    expect(gap.seq).toBe(before.checkpoints.at(-1)! + 1);
    expect(after.types.filter((r) => r.seq > cut)[0]).toEqual(gap); // nothing before it reused a seq
    expect(c.activeAlarms()).toEqual([
      expect.objectContaining({ type: 'journal_truncated', severity: 'critical' }),
    ]);
    expect(c.activeAlarms()[0]!.detail).toMatch(
      new RegExp(`seq ${cut}\\) is behind the signed checkpoint for seq ${before.checkpoints.at(-1)}`),
    );
    expect(after.checkpoints.at(-1)).toBe(after.head); // the start's fresh checkpoint signs what it found
    const row = c.journal.get(gap.seq)!;
    expect(row.data).toMatchObject({
      lostFrom: cut + 1,
      lostThrough: before.checkpoints.at(-1),
      evidence: 'checkpoint',
    });

    // The next start finds nothing: the gap is declared, the alarm stays latched until acknowledged.
    await c.stop('test');
    running.length = 0;
    c = await start(dir, {});
    expect(onDisk(dir).types.filter((r) => r.type === 'journal_truncated')).toHaveLength(1);
  });
});
