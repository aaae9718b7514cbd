/**
 * The journal's read-side commands and its archiving: `sekisho verify [--archives DIR]`,
 * `sekisho log`, `sekisho archive` and `sekisho verify-archive` (policy §5(2)⑪ウ: 5 years;
 * §8(1)③: protected against tampering and deletion).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/index.js';
import { dataFields, visibleText } from '../domain/index.js';
import {
  ArchiveError,
  archiveJournal,
  PUBLIC_KEY_FILE,
  verifyArchiveChain,
  verifyArchiveFile,
  verifyJournal,
} from '../journal/index.js';
import { sekishoVersion } from '../system.js';
import { formatLocal } from '../time.js';
import {
  cliIdentity,
  common,
  load,
  need,
  openExisting,
  optTime,
  publicKeyFrom,
  UsageError,
} from './common.js';
import { declaredGapLines } from './gaps.js';

export function verify(args: string[]): number {
  const { values } = parseArgs({ args, options: { ...common, archives: { type: 'string' } } });
  const loaded = load(values.config);
  if (values.archives !== undefined) return verifyWithArchives(loaded, values.archives, values.json);
  const s = openExisting(loaded, { readonly: true });
  const t0 = performance.now();
  const report = verifyJournal(s.db, { publicKey: s.secrets.publicKey });
  const secs = (performance.now() - t0) / 1000;
  s.db.close();
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (report.ok)
    process.stdout.write(
      `journal intact: ${report.rows} rows, head seq ${report.headSeq} ${report.headHash}, ${report.checkpoints} signed checkpoints verified (${secs.toFixed(2)} s)\n` +
        (report.archiveBase
          ? `  rows 1 to ${report.archiveBase.seq} are archived (signed archive base verified); check the archives with --archives DIR\n`
          : ''),
    );
  else
    process.stdout.write(`JOURNAL NOT INTACT: first bad row seq ${report.firstBadSeq}: ${report.problem}\n`);
  if (!values.json) process.stdout.write(declaredGapLines(report.gaps));
  return report.ok ? 0 : 1;
}

export function log(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      ...common,
      from: { type: 'string' },
      to: { type: 'string' },
      person: { type: 'string' },
      door: { type: 'string' },
      type: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const loaded = load(values.config);
  const tz = loaded.config.timeZone;
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    throw new UsageError('--limit: expected 1..100000');
  const from = optTime(values.from, tz);
  const to = optTime(values.to, tz);
  const s = openExisting(loaded, { readonly: true });
  const people = new Map(s.registry.listPeople().map((p) => [p.id, p]));
  // --person takes the internal id or the ID on the person's card (staff number, …).
  const personId =
    values.person === undefined
      ? undefined
      : people.has(values.person)
        ? values.person
        : ([...people.values()].find((p) => p.displayId === values.person)?.id ?? values.person);
  const rows = s.journal.query({
    from,
    to,
    person: personId,
    door: values.door,
    types: values.type ? [values.type] : undefined,
    limit,
  });
  s.db.close();
  if (values.json) {
    for (const r of rows)
      process.stdout.write(
        `${JSON.stringify({ seq: r.seq, at: r.at, type: r.type, door: r.door, person: r.person, actor: r.actor, data: r.data })}\n`,
      );
    return 0;
  }
  process.stdout.write(
    `${`time (${tz})`.padEnd(20)} ${'seq'.padEnd(8)} ${'event'.padEnd(22)} ${'door'.padEnd(14)} detail\n`,
  );
  for (const r of rows) {
    const p = r.person ? people.get(r.person) : undefined;
    const d = dataFields(r);
    let detail = '';
    if (r.type === 'access')
      detail = `${d.direction === 'in' ? 'IN ' : 'OUT'} ${String(d.result).toUpperCase()} ${d.reason} ${d.masked ?? ''} ${p ? `${p.name} [${p.displayId}, ${p.category}]` : '(unknown person)'}`;
    else {
      const parts = Object.entries(d).map(
        ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
      );
      if (p) parts.push(`person=${p.name}`);
      if (r.actor) parts.push(`by ${r.actor}`);
      detail = parts.join(' ');
    }
    // Control characters in a record (an old name, a comment) are shown, never sent to the terminal.
    process.stdout.write(
      `${visibleText(`${formatLocal(r.at, tz)}  ${String(r.seq).padEnd(8)} ${r.type.padEnd(22)} ${(r.door ?? '-').padEnd(14)} ${detail}`)}\n`,
    );
  }
  return 0;
}

export function archiveCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { ...common, to: { type: 'string' }, before: { type: 'string' } },
  });
  const loaded = load(values.config);
  const target = need(values.to, 'to');
  const before = optTime(values.before, loaded.config.timeZone);
  const years = loaded.config.storage.retentionYears;
  const s = openExisting(loaded);
  let r: ReturnType<typeof archiveJournal>;
  try {
    r = archiveJournal(s.db, s.journal, {
      target,
      before,
      retentionYears: years,
      signingKey: s.secrets.signingKey,
      publicKey: s.secrets.publicKey,
      keyId: s.secrets.keyId,
      siteId: loaded.config.site.id,
      sekishoVersion: sekishoVersion(),
      actor: cliIdentity().actor,
      outbox: loaded.config.mqtt !== undefined,
    });
  } catch (err) {
    if (err instanceof ArchiveError) {
      process.stderr.write(`sekisho: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    s.db.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.archived && !r.verify.ok ? 1 : 0;
  }
  if (!r.archived) {
    process.stdout.write(
      `${r.reason} (records before ${formatLocal(r.before, loaded.config.timeZone)} may be archived)\n`,
    );
    return 0;
  }
  const m = r.manifest;
  const tz = loaded.config.timeZone;
  process.stdout.write(
    `archived and verified: ${r.file} (${r.bytes} bytes, mode 0600, sha256 ${r.fileSha256})\n` +
      `  rows ${m.prevBase.seq + 1} to ${m.head.seq} (${m.rows} records, ${formatLocal(m.firstAt, tz)} to ${formatLocal(m.lastAt, tz)}), older than ${years} years\n` +
      `  the live journal now starts after the signed archive base at seq ${m.head.seq}: ${r.verify.ok ? 'intact' : `NOT INTACT: ${r.verify.problem}`}\n` +
      '  Keep the archive file (and every earlier one) off the device: it is the only copy of these records.\n',
  );
  return r.verify.ok ? 0 : 1;
}

export function verifyArchiveCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { ...common, 'public-key': { type: 'string' } },
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0)
    throw new UsageError('usage: sekisho verify-archive FILE [--public-key PEM]');
  // The device's public key: given (kept off the device: best), or the controller's own.
  const keyFile = values['public-key'] ?? join(load(values.config).storageDir, PUBLIC_KEY_FILE);
  const c = verifyArchiveFile(file, { publicKey: publicKeyFrom(keyFile) });
  if (values.json) process.stdout.write(`${JSON.stringify(c)}\n`);
  else if (c.ok && c.manifest) {
    const m = c.manifest;
    process.stdout.write(
      `archive intact: rows ${m.prevBase.seq + 1} to ${m.head.seq} (${m.rows} records) of controller ${m.controllerId}, ` +
        `chain from ${m.prevBase.hash.slice(0, 16)}… to ${m.head.hash.slice(0, 16)}…, signature verified with ${keyFile}\n` +
        `  sha256 ${c.fileSha256}\n`,
    );
  } else process.stdout.write(`ARCHIVE NOT INTACT:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
  return c.ok ? 0 : 1;
}

function verifyWithArchives(loaded: LoadedConfig, dir: string, json: boolean | undefined): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--archives: ${dir} is not a folder`);
  const s = openExisting(loaded, { readonly: true });
  let c: ReturnType<typeof verifyArchiveChain>;
  try {
    c = verifyArchiveChain(s.db, dir, s.secrets.publicKey);
  } finally {
    s.db.close();
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(c)}\n`);
    return c.ok ? 0 : 1;
  }
  for (const a of c.archives)
    process.stdout.write(
      `archive ${a.file}: rows ${a.manifest.prevBase.seq + 1} to ${a.manifest.head.seq}, intact\n`,
    );
  for (const n of c.notes) process.stdout.write(`note: ${n}\n`);
  if (c.ok) {
    process.stdout.write(
      `chain intact from seq 1 through ${c.archives.length} archive(s) to the live journal: ` +
        `${c.journal.rows} live rows, head seq ${c.journal.headSeq} ${c.journal.headHash}\n`,
    );
    return 0;
  }
  process.stdout.write(`CHAIN NOT INTACT:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
  return 1;
}
