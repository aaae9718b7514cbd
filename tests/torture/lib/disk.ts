/**
 * A full disk under a running `sekisho start`: its storage folder on a small file system of its own
 * (tmpfs, or a loop-mounted ext4 file when tmpfs cannot be mounted), filled to the last byte while
 * badges and door changes keep coming. The door must stay secured (no grant without its committed
 * row), /healthz must say degraded, nothing may be corrupted, and writing must resume by itself when
 * space returns — by deleting the filler, or by growing the file system. A kill -9 while the disk is
 * full, then a restart with space, must find the files intact.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { doorConfig, tempDir, writeConfig } from '../../helpers/controller.js';
import {
  type Api,
  api,
  checkStorage,
  DOOR,
  enrolStaff,
  type Proc,
  sleep,
  spawnController,
} from './common.js';

export interface DiskResult {
  skipped: string | null;
  fs: string;
  sizeMB: number;
  cycles: {
    recovery: string;
    /** Badge requests answered before /healthz said degraded (the WAL still had room). */
    requestsBeforeDegraded: number;
    /** Requests refused once /healthz had said degraded. */
    refusedWhileFull: number;
    grantedWithoutSeq: number;
    /**
     * Grants after /healthz had said degraded, each committed: SQLite found room of its own (the
     * write-ahead log restarted from its beginning) and the queued rows were written first. Each is
     * checked to be in the journal.
     */
    grantedOnReclaimedSpace: number;
    /** Lock open while /healthz said degraded. */
    unlockedWhileDegraded: number;
    healthz: number[];
    /** Space freed → /healthz ok again, ms. */
    recoveryMs: number;
    /** Refusals recorded in the journal after recovery (queued while full). */
    queuedRecorded: number;
  }[];
  killWhileFull: { integrity: string; verified: boolean; securedAtRestart: boolean } | null;
  storageFaultAlarms: number;
  integrity: string;
  verified: boolean;
  failures: string[];
}

function mountSmall(
  dir: string,
  sizeMB: number,
): { mnt: string; fs: string; grow: (mb: number) => boolean; undo: () => void } | string {
  const mnt = join(dir, 'disk');
  mkdirSync(mnt, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMB}m,mode=0700`, 'tmpfs', mnt], {
      stdio: 'pipe',
    });
    return {
      mnt,
      fs: 'tmpfs',
      grow: (mb) => {
        execFileSync('mount', ['-o', `remount,size=${mb}m`, mnt], { stdio: 'pipe' });
        return true;
      },
      undo: () => execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }),
    };
  } catch (err) {
    const tmpfsError = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    const img = join(dir, 'disk.img');
    try {
      execFileSync('truncate', ['-s', `${sizeMB}M`, img]);
      execFileSync('mkfs.ext4', ['-q', '-F', img], { stdio: 'pipe' });
      execFileSync('mount', ['-o', 'loop', img, mnt], { stdio: 'pipe' });
      return {
        mnt,
        fs: 'ext4 on a loop device',
        grow: () => false,
        undo: () => execFileSync('umount', ['-l', mnt]),
      };
    } catch (err2) {
      return `cannot mount a small file system (tmpfs: ${tmpfsError}; loop: ${String(err2).split('\n')[0]})`;
    }
  }
}

/** Writes a filler file until the file system refuses another byte. */
function fill(path: string): number {
  const fd = openSync(path, 'a');
  let written = 0;
  try {
    for (const size of [1 << 16, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export async function fullDisk(
  opts: { log?: (s: string) => void; sizeMB?: number } = {},
): Promise<DiskResult> {
  const log = opts.log ?? (() => undefined);
  const sizeMB = opts.sizeMB ?? 16;
  const dir = tempDir('sekisho-torture-disk-');
  const res: DiskResult = {
    skipped: null,
    fs: '',
    sizeMB,
    cycles: [],
    killWhileFull: null,
    storageFaultAlarms: 0,
    integrity: '',
    verified: false,
    failures: [],
  };
  const m = mountSmall(dir, sizeMB);
  if (typeof m === 'string') {
    res.skipped = m;
    return res;
  }
  res.fs = m.fs;
  const storage = join(m.mnt, 'data');
  const cfg = doorConfig(dir, [
    { id: 'entry', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
    { id: 'exit', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 },
  ]);
  cfg.storage = { path: storage }; // on the small file system
  const configFile = writeConfig(dir, cfg);
  const staff = enrolStaff(configFile, 3);
  let p: Proc | null = null;
  const filler = join(m.mnt, 'filler');
  try {
    p = spawnController(configFile, storage);
    let a: Api = api(await p.ready, p.token());
    const health = async () => (await a.call('GET', '/healthz')).status;
    const locked = async () =>
      (await a.call<Record<string, boolean>>('GET', '/api/sim/outputs')).body[`${DOOR}.lock`] === false;

    let refusedSoFar = 0;
    for (const recovery of [
      'delete the filler file',
      m.fs === 'tmpfs' ? 'grow the file system' : 'delete the filler file',
    ]) {
      const cycle = {
        recovery,
        requestsBeforeDegraded: 0,
        refusedWhileFull: 0,
        grantedWithoutSeq: 0,
        grantedOnReclaimedSpace: 0,
        unlockedWhileDegraded: 0,
        healthz: [] as number[],
        recoveryMs: 0,
        queuedRecorded: 0,
      };
      res.cycles.push(cycle);
      log(`  filling ${m.fs} (${sizeMB} MB): ${(fill(filler) / 1048576).toFixed(1)} MB of filler`);
      // Badges and door changes until the journal cannot grow any more, then some more.
      const grantedOnReclaimedSpace: number[] = [];
      let degraded = false;
      let after = 0;
      let open = false;
      for (let i = 0; i < 5000 && after < 40; i++) {
        const who = staff[i % staff.length]!;
        const r = await a.call<{ granted: boolean; seq: number | null; reason: string }>(
          'POST',
          '/api/sim/badge',
          {
            reader: i % 2 ? 'exit' : 'entry',
            credential: who.credential,
          },
        );
        if (r.status !== 200) res.failures.push(`badge request answered ${r.status} on a full disk`);
        if (r.body.granted && r.body.seq === null) cycle.grantedWithoutSeq++;
        if (i % 3 === 0) {
          open = !open;
          await a.call('POST', `/api/sim/doors/${DOOR}/contact`, { open });
        }
        const h = await health();
        if (!cycle.healthz.includes(h)) cycle.healthz.push(h);
        if (h === 503) degraded = true;
        if (!degraded) cycle.requestsBeforeDegraded++;
        else {
          after++;
          // SQLite can reuse space of its own on a full disk (the write-ahead log restarts from its
          // beginning once checkpointed), so a grant may still be committed: it must then be in the
          // journal (checked below). A grant without its row is the failure.
          if (r.body.granted && r.body.seq !== null) grantedOnReclaimedSpace.push(r.body.seq);
          else if (!r.body.granted) cycle.refusedWhileFull++;
          // Open while degraded is a failure unless a grant was committed meanwhile (it may open it).
          if (h === 503 && grantedOnReclaimedSpace.length === 0 && !(await locked()))
            cycle.unlockedWhileDegraded++;
        }
        if (!degraded && i % 50 === 49) fill(filler); // whatever SQLite freed meanwhile
      }
      if (open) await a.call('POST', `/api/sim/doors/${DOOR}/contact`, { open: false });
      if (!degraded) res.failures.push(`${recovery}: /healthz never said degraded on a full disk`);
      if (cycle.grantedWithoutSeq)
        res.failures.push(`${cycle.grantedWithoutSeq} grants without a committed row`);
      if (cycle.unlockedWhileDegraded)
        res.failures.push(`the lock was open ${cycle.unlockedWhileDegraded} times while degraded`);

      // Space returns.
      const t = performance.now();
      if (recovery === 'grow the file system') m.grow(sizeMB * 4);
      else rmSync(filler, { force: true });
      while ((await health()) !== 200) {
        if (performance.now() - t > 20_000) {
          res.failures.push(`${recovery}: no automatic recovery within 20 s`);
          break;
        }
        await sleep(50);
      }
      cycle.recoveryMs = performance.now() - t;
      const r = await a.call<{ granted: boolean; seq: number | null }>('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: staff[0]!.credential,
      });
      if (!(r.body.granted || r.body.seq !== null))
        res.failures.push(`${recovery}: the door does not decide after recovery`);
      const db = new Database(join(storage, 'journal.db'), { readonly: true });
      cycle.queuedRecorded = (
        db
          .prepare(
            "SELECT COUNT(*) AS n FROM journal WHERE type = 'access' AND bytes LIKE '%storage_unavailable%'",
          )
          .get() as { n: number }
      ).n;
      const grantRow = db.prepare<[number], { bytes: string }>(
        "SELECT bytes FROM journal WHERE seq = ? AND type = 'access'",
      );
      cycle.grantedOnReclaimedSpace = grantedOnReclaimedSpace.length;
      for (const seq of grantedOnReclaimedSpace)
        if (!/"result":"granted"/.test(grantRow.get(seq)?.bytes ?? ''))
          res.failures.push(
            `${recovery}: a grant while full answered seq ${seq}, which is not in the journal`,
          );
      db.close();
      refusedSoFar += cycle.refusedWhileFull;
      if (cycle.queuedRecorded < refusedSoFar)
        res.failures.push(
          `${recovery}: ${refusedSoFar} refusals while full, ${cycle.queuedRecorded} recorded after`,
        );
      log(
        `  ${recovery}: degraded after ${cycle.requestsBeforeDegraded} requests, ${cycle.refusedWhileFull} refused, ` +
          `recovered in ${cycle.recoveryMs.toFixed(0)} ms`,
      );
    }

    // A power cut while the disk is full: kill -9 with records still queued in memory.
    fill(filler);
    for (let i = 0; i < 200 && (await health()) !== 503; i++)
      await a.call('POST', '/api/sim/badge', { reader: 'entry', credential: staff[1]!.credential });
    await p.kill9();
    rmSync(filler, { force: true });
    const c = checkStorage(storage);
    p = spawnController(configFile, storage);
    a = api(await p.ready, p.token());
    res.killWhileFull = { integrity: c.integrity, verified: c.verified, securedAtRestart: await locked() };
    if (c.integrity !== 'ok' || !c.verified)
      res.failures.push(`after a kill on a full disk: ${c.integrity}, ${c.problem}`);
    if (!res.killWhileFull.securedAtRestart) res.failures.push('not secured at the restart after the kill');
    const code = await p.stop();
    p = null;
    if (code !== 0) res.failures.push(`exit code ${code} at the stop`);
    const final = checkStorage(storage);
    res.integrity = final.integrity;
    res.verified = final.verified;
    if (final.integrity !== 'ok' || !final.verified)
      res.failures.push(`at the end: ${final.integrity}, ${final.problem}`);
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    res.storageFaultAlarms = (
      db
        .prepare(
          "SELECT COUNT(*) AS n FROM journal WHERE type = 'alarm_raised' AND bytes LIKE '%storage_fault%'",
        )
        .get() as {
        n: number;
      }
    ).n;
    db.close();
    if (res.storageFaultAlarms < res.cycles.length)
      res.failures.push(`only ${res.storageFaultAlarms} storage_fault alarms`);
  } finally {
    await p?.kill9();
    rmSync(filler, { force: true });
    try {
      m.undo();
    } catch {
      // busy: lazily unmounted anyway
    }
    if (res.failures.length === 0) rmSync(dir, { recursive: true, force: true });
  }
  return res;
}
