/**
 * Restoring a backup after a card failure is not an attack (issue #15): `sekisho restore` journals
 * `journal_restored`, naming the rows lost (here learnt from the checkpoint a subscriber saved off
 * the MQTT retained topic), the restored controller starts without `journal_truncated`, and the
 * restore is acknowledged by a different person — never by the one who ran it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ApprovalError } from '../../controller/approvals/errors.js';
import { RestoreStore } from '../../controller/approvals/restores.js';
import { loadConfig } from '../../controller/config/index.js';
import { toCheckpoint } from '../../controller/journal/journal.js';
import { checkpointPayload } from '../../controller/mqtt/payloads.js';
import { openStorage } from '../../controller/storage.js';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

describe('restore after a card failure', () => {
  const dir = tempDir('sekisho-restore-gap-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders()));
  const backup = join(dir, 'b.sekisho-backup');
  const saved = join(dir, 'retained-checkpoint.json');
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.kill9();
  });
  const badges = async (n: number) => {
    for (let i = 0; i < n; i++)
      await ctl!.api('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: `FB${String(i).padStart(8, '0')}`,
      });
  };

  it('journals the lost range, starts without journal_truncated, and takes another person’s acknowledgement', async () => {
    ctl = await startController(cfg, storage);
    await badges(3);
    expect(await ctl.stop()).toBe(0);
    expect(cli(['backup', '--config', cfg, '--to', backup], { sudo: 'manager-a' }).status).toBe(0);
    ctl = await startController(cfg, storage);
    await badges(6);
    expect(await ctl.stop()).toBe(0);
    // What a subscriber kept of the retained checkpoint topic: the stop's checkpoint.
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    const last = toCheckpoint(
      db.prepare('SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as never,
    );
    const lostHead = (db.prepare('SELECT MAX(seq) AS m FROM journal').get() as { m: number }).m;
    db.close();
    expect(last.seq).toBe(lostHead);
    writeFileSync(saved, JSON.stringify(checkpointPayload(last)));

    // The card dies: nothing of the storage is left.
    rmSync(storage, { recursive: true, force: true });

    // A bad --checkpoint refuses the restore, changing nothing; a bad --lost-through is a usage error.
    const forged = join(dir, 'forged.json');
    writeFileSync(forged, JSON.stringify({ ...checkpointPayload(last), seq: last.seq + 1000 }));
    const refused = cli(['restore', '--config', cfg, '--from', backup, '--checkpoint', forged], {
      sudo: 'manager-b',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/--checkpoint cannot be used: its signature does not verify/);
    expect(cli(['restore', '--config', cfg, '--from', backup, '--lost-through', 'ten']).status).toBe(2);

    const r = cli(['restore', '--config', cfg, '--from', backup, '--checkpoint', saved], {
      sudo: 'manager-b',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const restored = new Database(join(storage, 'journal.db'), { readonly: true });
    const gap = restored
      .prepare("SELECT seq, actor, bytes FROM journal WHERE type = 'journal_restored'")
      .get() as { seq: number; actor: string; bytes: string };
    restored.close();
    expect(gap.seq).toBe(lostHead + 1);
    expect(gap.actor).toBe(`cli:manager-b/${userInfo().username}`);
    const data = JSON.parse(gap.bytes).data;
    expect(data).toMatchObject({ lostThrough: lostHead, basis: 'checkpoint', checkpoint: { seq: last.seq } });
    expect(r.stdout).toContain(`rows ${data.lostFrom} to ${lostHead} were lost (known from checkpoint)`);

    // The restored controller starts: no journal_truncated, the gap verifies and is printed.
    ctl = await startController(cfg, storage);
    const alarms = (await ctl.api<{ alarms: { type: string }[] }>('GET', '/api/alarms')).body.alarms;
    expect(alarms.filter((a) => a.type === 'journal_truncated')).toEqual([]);
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
    const v = cli(['verify', '--config', cfg]);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain(`declared gap at seq ${gap.seq} (journal_restored, `);
    expect(v.stdout).toContain(`a backup was restored by cli:manager-b/`);

    // The acknowledgement: refused to the restorer (journaled), taken from another person.
    const s = openStorage(loadConfig(cfg));
    try {
      const store = new RestoreStore(s.journal);
      expect(store.list()).toMatchObject([{ seq: gap.seq, needsReview: true }]);
      expect(() => store.acknowledge(gap.seq, 'user:manager-b', 'checked', Date.now())).toThrow(
        ApprovalError,
      );
      expect(() => store.acknowledge(gap.seq, 'token:monitoring', 'checked', Date.now())).toThrow(
        /stands for no person/,
      );
      expect(s.journal.query({ types: ['journal_restore_ack_refused'], limit: 10 })).toHaveLength(2);
      const done = store.acknowledge(gap.seq, 'user:admin-c', 'card replaced, backup of 1 Dec', Date.now());
      expect(done).toMatchObject({ needsReview: false, acknowledged: { actor: 'user:admin-c' } });
      expect(() => store.acknowledge(gap.seq, 'user:admin-d', 'again', Date.now())).toThrow(/already/);
    } finally {
      s.db.close();
    }
  }, 180_000);
});
