/** `sekisho backup` and `sekisho restore`: the commands around controller/backup/. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkBackup, createBackup, describeManifest, restoreBackup } from '../backup/index.js';
import { openStorage } from '../storage.js';
import { cliIdentity, common, load, need, publicKeyFrom, UsageError } from './common.js';

export async function backupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...common, to: { type: 'string' }, force: { type: 'boolean' } },
  });
  const loaded = load(values.config);
  const r = await createBackup(loaded, need(values.to, 'to'), { force: values.force });
  // The backup is an administrative fact too (policy §8(3)②): which head, which file, by whom.
  try {
    const s = openStorage(loaded);
    try {
      s.journal.append(
        {
          type: 'backup_created',
          at: Date.now(),
          actor: cliIdentity().actor,
          data: {
            file: r.file,
            bytes: r.bytes,
            sha256: r.sha256,
            headSeq: r.manifest.head.seq,
            headHash: r.manifest.head.hash,
            verified: r.verify.ok,
          },
        },
        { outbox: loaded.config.mqtt !== undefined },
      );
    } finally {
      s.db.close();
    }
  } catch (err) {
    process.stderr.write(
      `sekisho: warning: the backup was written but could not be journaled: ${(err as Error).message}\n`,
    );
  }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ file: r.file, bytes: r.bytes, sha256: r.sha256, manifest: r.manifest, ok: r.verify.ok })}\n`,
    );
  } else {
    process.stdout.write(
      `backup written and verified: ${r.file} (${r.bytes} bytes, mode 0600, sha256 ${r.sha256})\n`,
    );
    for (const line of describeManifest(r.manifest)) process.stdout.write(`  ${line}\n`);
    process.stdout.write(
      '  It holds the device secrets: keep it as safe as the controller itself (docs/operations.md).\n',
    );
  }
  if (!r.verify.ok) {
    process.stdout.write(
      `WARNING: written with --force although the journal does not verify: row seq ${r.verify.firstBadSeq}: ${r.verify.problem}\n`,
    );
    return 1;
  }
  return 0;
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
      return 0;
    }
    process.stdout.write(`BACKUP NOT INTACT:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
    return 1;
  }
  const loaded = load(values.config);
  const r = restoreBackup(loaded, from, {
    actor: cliIdentity().actor,
    force: values.force,
    trustedPublicKey,
    lostThrough,
    publishedCheckpoint,
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
        '(no replaced journal, no --lost-through, no --checkpoint): later seqs may repeat seqs of lost rows\n',
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
  return 0;
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
