/**
 * The journal's read-side commands and its archiving: `sekisho verify [--archives DIR]`,
 * `sekisho log`, `sekisho archive` and `sekisho verify-archive` (policy §5(2)⑪ウ: 5 years;
 * §8(1)③: protected against tampering and deletion).
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/index.js';
import { dataFields, isKnownRecordType, type Person, visibleText } from '../domain/index.js';
import {
  ArchiveError,
  archiveJournal,
  PUBLIC_KEY_FILE,
  publicKeyFingerprint,
  publicKeyId,
  QUERY_LIMIT,
  QueryLimit,
  SIGNING_KEY_FILE,
  verifyArchiveChain,
  verifyArchiveFile,
  verifyJournal,
} from '../journal/index.js';
import type { Storage } from '../storage.js';
import { sekishoVersion } from '../system.js';
import { formatLocal } from '../time.js';
import { checkAgainstWitness } from '../witness/compare.js';
import { HistoryError, loadHistoryFile } from '../witness/history.js';
import {
  cliIdentity,
  common,
  devicePublicKeyFrom,
  load,
  need,
  openExisting,
  optTime,
  optTimeUntil,
  publicKeyFrom,
  UsageError,
} from './common.js';
import { EXIT_FAILED, EXIT_OK, EXIT_PROTECTIONS, EXIT_USAGE } from './exit-codes.js';
import { declaredGapLines } from './gaps.js';
import { publishedLine, readPublishedCheckpoints } from './published-checkpoints.js';

export { EXIT_PROTECTIONS };

/** The options of `sekisho verify`, in one place (each kind of off-device evidence adds its own). */
const verifyOptions = {
  ...common,
  archives: { type: 'string' },
  /** A copy of the device's public key kept off the device (pinned). */
  'public-key': { type: 'string' },
  /** Checkpoints kept off the device (JSON Lines, as published on MQTT). */
  checkpoints: { type: 'string' },
  /** A witness history (sekisho witness), checked with --public-key. */
  witness: { type: 'string' },
} as const;

/** Which key checked the signatures, as the output names it. */
interface KeyUsed {
  source: 'pinned' | 'device';
  file: string;
  fingerprint: string;
  keyId: string;
}

/**
 * `sekisho verify`: exit 0 intact; 1 tampering found (wins over 3); 2 bad usage; 3 the chain
 * verifies but the database no longer refuses changes (a protective trigger missing or altered).
 */
export function verify(args: string[]): number {
  const { values } = parseArgs({ args, options: verifyOptions });
  const loaded = load(values.config);
  if (values.witness !== undefined) {
    if (values.checkpoints !== undefined || values.archives !== undefined)
      throw new UsageError(
        '--witness checks against a witness history alone: run --checkpoints or --archives separately',
      );
    return verifyWithWitness(loaded, values.witness, values['public-key'], values.json);
  }
  const pinned = values['public-key'];
  const pinnedKey = pinned === undefined ? undefined : devicePublicKeyFrom(pinned);
  if (values.archives !== undefined) {
    if (values.checkpoints !== undefined)
      throw new UsageError(
        '--checkpoints and --archives check different things: run sekisho verify once with each',
      );
    return verifyWithArchives(loaded, values.archives, values.json, pinned, pinnedKey);
  }
  const published =
    values.checkpoints === undefined
      ? undefined
      : readPublishedCheckpoints(values.checkpoints, loaded.config.controller.id);
  const s = openExisting(loaded, { readonly: true });
  const deviceKey = s.secrets.publicKey;
  const key = keyUsed(loaded, pinned, pinnedKey ?? deviceKey);
  const t0 = performance.now();
  let report: ReturnType<typeof verifyJournal>;
  try {
    report = verifyJournal(s.db, {
      publicKey: pinnedKey ?? deviceKey,
      ...(published ? { trustedCheckpoints: published.checkpoints } : {}),
    });
  } finally {
    s.db.close();
  }
  const secs = (performance.now() - t0) / 1000;
  const code = !report.ok ? EXIT_FAILED : report.protections.intact ? EXIT_OK : EXIT_PROTECTIONS;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        ...report,
        key,
        ...(published
          ? { published: { file: published.file, checkpoints: published.checkpoints.length } }
          : {}),
        exitCode: code,
      })}\n`,
    );
    return code;
  }
  const out: string[] = [];
  const summary = `${report.rows} rows, head seq ${report.headSeq} ${report.headHash}, ${report.checkpoints} signed checkpoints verified (${secs.toFixed(2)} s)`;
  if (!report.ok) {
    const line = publishedLine(published, report.checkpointSeq);
    const from =
      line === undefined ? '' : ` [the published checkpoint on line ${line} of ${published!.file}]`;
    out.push(`JOURNAL NOT INTACT: first bad row seq ${report.firstBadSeq}: ${report.problem}${from}`);
  } else if (!report.protections.intact) {
    out.push(
      `PROTECTIONS MISSING: the hash chain verifies (${summary}), but the database no longer refuses changes to the journal:`,
    );
  } else {
    out.push(`journal intact: ${summary}`);
    if (report.archiveBase)
      out.push(
        `  rows 1 to ${report.archiveBase.seq} are archived (signed archive base verified); check the archives with --archives DIR`,
      );
  }
  for (const w of report.warnings) out.push(`  warning: ${w}`);
  const gaps = declaredGapLines(report.gaps);
  if (gaps) out.push(gaps.trimEnd());
  if (report.ok && !report.protections.intact)
    out.push(
      '  What the chain cannot show: rows removed from its end, or a row edited with the chain re-hashed and ' +
        're-signed with the key on the device. Check against evidence kept off the device: ' +
        'sekisho verify --checkpoints FILE --public-key PEM.',
    );
  out.push(...keyLines(key, deviceKey, pinnedKey));
  if (published)
    out.push(
      `  published checkpoints: ${published.checkpoints.length} from ${published.file}, checked with the ${key.source === 'pinned' ? 'pinned' : "device's own"} key`,
    );
  else
    out.push(
      '  published checkpoints: none given; without them, rows removed after the last checkpoint on the device, ' +
        'or a chain re-hashed and re-signed with the device key, go unnoticed (--checkpoints FILE)',
    );
  process.stdout.write(`${out.join('\n')}\n`);
  return code;
}

function keyUsed(loaded: LoadedConfig, pinned: string | undefined, key: KeyObject): KeyUsed {
  return {
    source: pinned === undefined ? 'device' : 'pinned',
    file: pinned ?? join(loaded.storageDir, SIGNING_KEY_FILE),
    fingerprint: publicKeyFingerprint(key),
    keyId: publicKeyId(key),
  };
}

function keyLines(key: KeyUsed, deviceKey: KeyObject, pinnedKey: KeyObject | undefined): string[] {
  if (key.source === 'pinned') {
    const lines = [`  key: the pinned public key ${key.file}, ${key.fingerprint}`];
    if (pinnedKey && !pinnedKey.equals(deviceKey))
      lines.push(
        `  note: the key on the device is a different one (${publicKeyFingerprint(deviceKey)}): it was replaced, ` +
          'and whatever it signed does not verify with the pinned key',
      );
    return lines;
  }
  return [
    `  key: the device's own key (from ${key.file}), ${key.fingerprint}`,
    '    root on the device can replace it together with the signing key: compare this fingerprint with the ' +
      'one kept off the device, or pass that copy with --public-key PEM',
  ];
}

/** The record types `sekisho log` shows unless --type says otherwise: entries and exits. */
export const LOG_DEFAULT_TYPES = ['access', 'manual_entry_recorded'] as const;

/**
 * The person, door and types of `sekisho log`, checked: an unknown person, door or record type is
 * a usage error (a typo must not look like an empty log).
 */
function logFilter(
  loaded: LoadedConfig,
  s: Storage,
  values: { person?: string | undefined; door?: string | undefined; type?: string | undefined },
): { person?: string; door?: string; types?: string[] } {
  const out: { person?: string; door?: string; types?: string[] } = {};
  if (values.person !== undefined) {
    // Their id (p_…) or the ID on their card (staff number, …), in any case.
    const found = s.registry.findPeopleById(values.person, 10);
    if (found.length === 0)
      throw new UsageError(
        `--person: no person with the id or card ID "${values.person}" (see sekisho person list)`,
      );
    const exact = found.find((p) => p.id === values.person);
    if (!exact && found.length > 1)
      throw new UsageError(
        `--person: ${found.length} people have the card ID "${values.person}" (${found.map((p) => p.id).join(', ')}): give one of their ids`,
      );
    out.person = (exact ?? found[0]!).id;
  }
  if (values.door !== undefined) {
    // A door removed from the config still has its rows.
    const known =
      loaded.config.doors.some((d) => d.id === values.door) ||
      s.journal.query({ door: values.door, limit: 1 }).length > 0;
    if (!known)
      throw new UsageError(
        `--door: no door "${values.door}" (doors: ${loaded.config.doors.map((d) => d.id).join(', ')})`,
      );
    out.door = values.door;
  }
  const types = values.type?.split(',').map((t) => t.trim());
  if (types === undefined) out.types = [...LOG_DEFAULT_TYPES];
  else if (!(types.length === 1 && types[0] === 'all')) {
    for (const t of types) {
      // An old record type no longer catalogued still has its rows.
      if (!isKnownRecordType(t) && s.journal.query({ types: [t], limit: 1 }).length === 0)
        throw new UsageError(
          `--type: no record type "${t}" (docs/journal.md lists them; --type all shows every record)`,
        );
    }
    out.types = types;
  }
  return out;
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
  const limit = QueryLimit.safeParse(values.limit);
  if (!limit.success)
    throw new UsageError(
      `--limit: expected a whole number from ${QUERY_LIMIT.min} to ${QUERY_LIMIT.max}, not "${values.limit}"`,
    );
  const from = optTime(values.from, tz, 'from');
  // As on the dashboard: a --to date includes that whole day.
  const to = optTimeUntil(values.to, tz, 'to');
  if (from !== undefined && to !== undefined && from >= to)
    throw new UsageError(`--from ${values.from} is not before --to ${values.to}`);
  const s = openExisting(loaded, { readonly: true });
  let rows: ReturnType<typeof s.journal.query>;
  let people: Map<string, Person>;
  try {
    const filter = logFilter(loaded, s, values);
    rows = s.journal.query({ from, to, ...filter, limit: limit.data });
    people = s.registry.getPeople(new Set(rows.map((r) => r.person).filter((p) => p !== null)));
  } finally {
    s.db.close();
  }
  if (values.json) {
    for (const r of rows)
      process.stdout.write(
        `${JSON.stringify({ seq: r.seq, at: r.at, type: r.type, door: r.door, person: r.person, actor: r.actor, data: r.data })}\n`,
      );
    return EXIT_OK;
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
    else if (r.type === 'manual_entry_recorded')
      // A key-and-paper entry: the time on paper first, then who transcribed and who approved it.
      detail = `${d.direction === 'in' ? 'IN ' : 'OUT'} TRANSCRIBED FROM PAPER (紙の入退室管理簿から転記) ${String(d.paperRef)} at ${formatLocal(Number(d.paperAt), tz)} ${String(d.personName)} [${String(d.displayId)}, ${String(d.category)}]${d.escortName ? ` escort ${String(d.escortName)}` : ''} transcribed by ${String(d.transcribedBy)}, approved by ${String(d.approvedBy)}${d.outage === null ? ' OUTSIDE ANY RECORDED OUTAGE' : ''}`;
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
  return EXIT_OK;
}

export function archiveCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { ...common, to: { type: 'string' }, before: { type: 'string' } },
  });
  const loaded = load(values.config);
  const target = need(values.to, 'to');
  const before = optTime(values.before, loaded.config.timeZone, 'before');
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
      return EXIT_FAILED;
    }
    throw err;
  } finally {
    s.db.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.archived && !r.verify.ok ? EXIT_FAILED : EXIT_OK;
  }
  if (!r.archived) {
    process.stdout.write(
      `${r.reason} (records before ${formatLocal(r.before, loaded.config.timeZone)} may be archived)\n`,
    );
    return EXIT_OK;
  }
  const m = r.manifest;
  const tz = loaded.config.timeZone;
  process.stdout.write(
    `archived and verified: ${r.file} (${r.bytes} bytes, mode 0600, sha256 ${r.fileSha256})\n` +
      `  rows ${m.prevBase.seq + 1} to ${m.head.seq} (${m.rows} records, ${formatLocal(m.firstAt, tz)} to ${formatLocal(m.lastAt, tz)}), older than ${years} years\n` +
      `  the live journal now starts after the signed archive base at seq ${m.head.seq}: ${r.verify.ok ? 'intact' : `NOT INTACT: ${r.verify.problem}`}\n` +
      '  Keep the archive file (and every earlier one) off the device: it is the only copy of these records.\n',
  );
  return r.verify.ok ? EXIT_OK : EXIT_FAILED;
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
  return c.ok ? EXIT_OK : EXIT_FAILED;
}

function verifyWithArchives(
  loaded: LoadedConfig,
  dir: string,
  json: boolean | undefined,
  pinned: string | undefined,
  pinnedKey: KeyObject | undefined,
): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--archives: ${dir} is not a folder`);
  const s = openExisting(loaded, { readonly: true });
  const deviceKey = s.secrets.publicKey;
  const key = keyUsed(loaded, pinned, pinnedKey ?? deviceKey);
  let c: ReturnType<typeof verifyArchiveChain>;
  try {
    c = verifyArchiveChain(s.db, dir, pinnedKey ?? deviceKey);
  } finally {
    s.db.close();
  }
  const code = !c.ok ? EXIT_FAILED : c.journal.protections.intact ? EXIT_OK : EXIT_PROTECTIONS;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...c, key, exitCode: code })}\n`);
    return code;
  }
  for (const a of c.archives)
    process.stdout.write(
      `archive ${a.file}: rows ${a.manifest.prevBase.seq + 1} to ${a.manifest.head.seq}, intact\n`,
    );
  for (const n of c.notes) process.stdout.write(`note: ${n}\n`);
  const tail = [...c.journal.warnings.map((w) => `  warning: ${w}`), ...keyLines(key, deviceKey, pinnedKey)];
  if (!c.ok) process.stdout.write(`CHAIN NOT INTACT:\n${c.problems.map((p) => `  - ${p}\n`).join('')}`);
  else if (!c.journal.protections.intact)
    process.stdout.write(
      `PROTECTIONS MISSING: the chain verifies from seq 1 through ${c.archives.length} archive(s) to the live journal ` +
        `(${c.journal.rows} live rows, head seq ${c.journal.headSeq}), but the database no longer refuses changes to the journal:\n`,
    );
  else
    process.stdout.write(
      `chain intact from seq 1 through ${c.archives.length} archive(s) to the live journal: ` +
        `${c.journal.rows} live rows, head seq ${c.journal.headSeq} ${c.journal.headHash}\n`,
    );
  process.stdout.write(`${tail.join('\n')}\n`);
  return code;
}

/**
 * `verify --witness FILE --public-key PEM`: the journal against a witness history kept off the
 * device. Exit 0: it agrees; 1: proof of tampering (the first missing or altered row is named);
 * 2: the history or key cannot be used (the history fails its own check, or another key).
 */
function verifyWithWitness(
  loaded: LoadedConfig,
  file: string,
  keyFile: string | undefined,
  json: boolean | undefined,
): number {
  if (keyFile === undefined)
    throw new UsageError(
      '--witness needs --public-key FILE: the key the witness pinned, kept off the device',
    );
  const key = devicePublicKeyFrom(keyFile);
  if (!existsSync(file)) throw new UsageError(`--witness: ${file} does not exist`);
  const s = openExisting(loaded, { readonly: true });
  let c: ReturnType<typeof checkAgainstWitness>;
  try {
    c = checkAgainstWitness(s.db, (onEvent) => loadHistoryFile(file, onEvent), key);
  } catch (err) {
    if (!(err instanceof HistoryError)) throw err;
    if (json)
      process.stdout.write(`${JSON.stringify({ ok: false, history: false, problem: err.message })}\n`);
    else process.stdout.write(`WITNESS HISTORY NOT USABLE: ${err.message}\n`);
    return EXIT_USAGE;
  } finally {
    s.db.close();
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(c)}\n`);
    return c.ok ? EXIT_OK : EXIT_FAILED;
  }
  const h = c.history;
  const out: string[] = [];
  if (c.ok)
    out.push(
      `journal agrees with the witness: ${c.journal.rows} rows, head seq ${c.journal.headSeq}; ` +
        `${c.compared} witnessed events and ${h.checkpoints} signed checkpoints from ${file} compared`,
    );
  else out.push(`JOURNAL NOT INTACT: first bad row seq ${c.firstBadSeq}: ${c.problem}`);
  out.push(`  witness history: ${h.lines} lines, chain intact, last line sha256 ${h.lastLineSha256}`);
  for (const w of c.journal.warnings) out.push(`  warning: ${w}`);
  for (const n of c.notes) out.push(`  note: ${n}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return c.ok ? EXIT_OK : EXIT_FAILED;
}
