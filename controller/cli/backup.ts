/** `sekisho backup` and `sekisho restore`: the commands around controller/backup/. */

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBackup, createBackup, describeManifest, restoreBackup } from '../backup/index.js';
import {
  planRotation,
  type RotationPlan,
  type RotationResult,
  removeGenerations,
  sameFileSystem,
} from '../backup/rotate.js';
import type { LoadedConfig } from '../config/index.js';
import type { RecordDataOf } from '../domain/index.js';
import type { JournalInput } from '../journal/index.js';
import { openStorage } from '../storage.js';
import { cliIdentity, common, load, need, publicKeyFrom, UsageError } from './common.js';
import { EXIT_FAILED, EXIT_OK } from './exit-codes.js';

/** `--keep N|all`, else the config's `backup.keep`. */
function keepOption(v: string | undefined, configured: number | 'all'): number | 'all' {
  if (v === undefined) return configured;
  if (v === 'all') return 'all';
  const n = /^[0-9]{1,5}$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= 10_000))
    throw new UsageError(`--keep: expected a number of backups (1–10000) or "all", not "${v}"`);
  return n;
}

export async function backupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...common, to: { type: 'string' }, force: { type: 'boolean' }, keep: { type: 'string' } },
  });
  const to = need(values.to, 'to');
  const loaded = load(values.config);
  const keep = keepOption(values.keep, loaded.config.backup.keep);
  const r = await createBackup(loaded, to, { force: values.force });
  const sameFs = sameFileSystem(dirname(r.file), loaded.storageDir);
  const out: string[] = [];
  const warn: string[] = [];
  // Printed with the result (stdout), like the --force warning: it is about this backup, not a failure.
  const advice: string[] = [];
  if (sameFs)
    advice.push(
      `${dirname(r.file)} is on the same file system as the storage (${loaded.storageDir}): ` +
        'a copy on the same card dies with it. Write backups to a USB stick or a NAS mount, or copy each one off the device (docs/operations.md).',
    );
  // The backup is an administrative fact too (policy §8(3)②): which head, which file, by whom.
  const journaled = journal(loaded, 'backup_created', {
    file: r.file,
    bytes: r.bytes,
    sha256: r.sha256,
    headSeq: r.manifest.head.seq,
    headHash: r.manifest.head.hash,
    verified: r.verify.ok,
    sameFileSystem: sameFs,
  });
  if (journaled !== true) warn.push(`the backup was written but could not be journaled: ${journaled}`);

  // The generations: only after a verified backup that is on the record, and each removal journaled.
  let rotation: RotationResult | null = null;
  let plan: RotationPlan | null = null;
  let failed = journaled !== true;
  if (!r.verify.ok)
    warn.push('no older backup was removed: this one was forced and its journal does not verify');
  else if (journaled !== true)
    warn.push('no older backup was removed: a removal must be journaled, and the journal cannot be written');
  else if (keep !== 'all') {
    plan = planRotation(r.file, keep);
    if (plan.remove.length > 0) {
      rotation = removeGenerations(plan, r.manifest);
      const rec = journal(loaded, 'backups_removed', {
        folder: plan.folder,
        keep,
        newest: r.file,
        removed: rotation.removed,
        failed: rotation.failed,
      });
      if (rec !== true) {
        failed = true;
        warn.push(
          `older backups were removed but the removal could not be journaled (${rec}): ${rotation.removed.map((x) => x.file).join(', ')}`,
        );
      }
      for (const f of rotation.failed) {
        failed = true;
        warn.push(`could not remove ${f.file}: ${f.error}`);
      }
    }
  }

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        file: r.file,
        bytes: r.bytes,
        sha256: r.sha256,
        manifest: r.manifest,
        ok: r.verify.ok,
        sameFileSystem: sameFs,
        keep,
        kept: plan?.kept.map((g) => g.file) ?? [r.file],
        removed: rotation?.removed ?? [],
        notRemoved: rotation?.failed ?? [],
        warnings: [...advice, ...warn],
      })}\n`,
    );
  } else {
    out.push(`backup written and verified: ${r.file} (${r.bytes} bytes, mode 0600, sha256 ${r.sha256})`);
    for (const line of describeManifest(r.manifest)) out.push(`  ${line}`);
    out.push('  It holds the device secrets: keep it as safe as the controller itself (docs/operations.md).');
    if (plan) {
      out.push(
        `generations: keeping ${plan.kept.length} of this controller's backups in ${plan.folder} (--keep ${keep})`,
      );
      for (const x of rotation?.removed ?? [])
        out.push(`  removed ${x.file} (head seq ${x.headSeq}, sha256 ${x.sha256})`);
    }
    for (const a of advice) out.push(`WARNING: ${a}`);
    for (const line of out) process.stdout.write(`${line}\n`);
  }
  for (const w of warn) process.stderr.write(`sekisho: warning: ${w}\n`);
  if (!r.verify.ok) {
    process.stdout.write(
      `WARNING: written with --force although the journal does not verify: row seq ${r.verify.firstBadSeq}: ${r.verify.problem}\n`,
    );
    return EXIT_FAILED;
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}

/** Appends one row from this command; true, or why it could not be written. */
function journal<T extends 'backup_created' | 'backups_removed'>(
  loaded: LoadedConfig,
  type: T,
  data: RecordDataOf<T>,
): true | string {
  try {
    const s = openStorage(loaded);
    try {
      s.journal.append({ type, at: Date.now(), actor: cliIdentity().actor, data } as JournalInput, {
        outbox: loaded.config.mqtt !== undefined,
      });
      return true;
    } finally {
      s.db.close();
    }
  } catch (err) {
    return (err as Error).message;
  }
}

export function restoreCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      ...common,
      from: { type: 'string' },
      force: { type: 'boolean' },
      check: { type: 'boolean' },
      'public-key': { type: 'string' },
      'lost-through': { type: 'string' },
      checkpoint: { type: 'string' },
      'lost-unknown': { type: 'boolean' },
    },
  });
  const from = need(values.from, 'from');
  const lostThrough = seqOption(values['lost-through'], 'lost-through');
  const publishedCheckpoint =
    values.checkpoint === undefined ? undefined : jsonFile(values.checkpoint, 'checkpoint');
  const keyFile = values['public-key'];
  const trustedPublicKey = keyFile ? publicKeyFrom(keyFile) : undefined;
  if (values.check) {
    const c = checkBackup(from, { trustedPublicKey });
    for (const line of describeManifest(c.manifest)) process.stdout.write(`${line}\n`);
    if (c.ok) {
      process.stdout.write(
        `backup intact: ${c.verify?.rows} rows, ${c.verify?.checkpoints} signed checkpoints verified${trustedPublicKey ? ' with the trusted key' : " with the backup's own key"}\n`,
      );
      return EXIT_OK;
    }
    process.stdout.write(`BACKUP NOT INTACT:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
    return EXIT_FAILED;
  }
  const loaded = load(values.config);
  const r = restoreBackup(loaded, from, {
    actor: cliIdentity().actor,
    force: values.force,
    trustedPublicKey,
    lostThrough,
    publishedCheckpoint,
    lostUnknown: values['lost-unknown'],
  });
  process.stdout.write(`restored ${from} into ${loaded.storageDir}\n`);
  for (const line of describeManifest(r.manifest)) process.stdout.write(`  ${line}\n`);
  for (const o of r.overridden) process.stdout.write(`  overridden with --force: ${o}\n`);
  process.stdout.write(
    r.setAside ? `  the replaced files are in ${r.setAside}\n` : '  there was nothing to replace\n',
  );
  process.stdout.write(`  journal head now seq ${r.head.seq} (the restore itself is journaled and signed)\n`);
  const { lost } = r;
  if (lost.through === null)
    process.stdout.write(
      `  journal_restored (seq ${r.restoredSeq}): rows from seq ${lost.from} on were lost, how many is UNKNOWN ` +
        '(--lost-unknown): the next start must read the head published on MQTT before its first row, and will not start without it\n',
    );
  else if (lost.through < lost.from)
    process.stdout.write(`  journal_restored (seq ${r.restoredSeq}): no row was lost\n`);
  else
    process.stdout.write(
      `  journal_restored (seq ${r.restoredSeq}): rows ${lost.from} to ${lost.through} were lost (known from ${lost.basis.replace('_', ' ')}); their seqs are skipped\n`,
    );
  process.stdout.write(
    '  A person other than the one who restored must acknowledge it: dashboard, Compliance → Restores\n',
  );
  process.stdout.write('Start the controller again: sudo systemctl start sekisho\n');
  return EXIT_OK;
}

function seqOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1)
    throw new UsageError(
      `--${flag} must be a positive whole number (a journal seq), got ${JSON.stringify(value)}`,
    );
  return Number(value);
}

function jsonFile(file: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag}: ${file} is not JSON (expected the retained checkpoint payload)`);
  }
}
