/**
 * The `sekisho` command. Every command takes --config PATH (default: $SEKISHO_CONFIG or
 * /etc/sekisho/config.yaml). Exit codes: 0 success, 1 failure (e.g. the journal does not verify),
 * 2 bad usage or a bad config.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CreateBoardOptions,
  createBoard,
  doorPinNames,
  pinLevel,
  secureLevels,
} from '../hardware/index.js';
import { checkBackup, createBackup, describeManifest, restoreBackup } from './backup.js';
import {
  actorOf,
  common,
  credentialArg,
  load,
  need,
  optTime,
  parseSubcommand,
  UsageError,
  withStorage,
} from './cli-common.js';
import { presenceCommand, visitorCommand } from './cli-visitors.js';
import { ConfigError, type LoadedConfig } from './config/index.js';
import { doctor } from './doctor.js';
import { dataFields, PersonCategory } from './domain/index.js';
import {
  ArchiveError,
  archiveJournal,
  PUBLIC_KEY_FILE,
  verifyArchiveChain,
  verifyArchiveFile,
  verifyJournal,
} from './journal/index.js';
import { createLogger } from './log.js';
import { LoggedStartError, startSekisho } from './main.js';
import { journalFile, openStorage } from './storage.js';
import { sekishoVersion } from './system.js';
import { formatLocal } from './time.js';
import { userCommand } from './users.js';

const HELP = `sekisho — machine-room access controller

usage: sekisho <command> [options]   (every command takes --config PATH)

  start                                   run the controller (and its dashboard)
  verify [--archives DIR]                 check the journal's hash chain and signed checkpoints
                                          (with --archives: also every archive file and the chain
                                          archive → archive → live journal)
  log [--from D] [--to D] [--person ID|CARD_ID] [--door ID] [--type T] [--limit N] [--json]
                                          the entry/exit log (入退室管理簿); dates in the site's time zone
  person add --name N --id DISPLAY_ID --category staff|contractor|visitor
             [--valid-from D] [--valid-until D] [--lockdown-override]
  person grant PERSON --door DOOR [--schedule ID]     allow a person through a door
  person revoke-door PERSON --door DOOR
  person list [--json]
  badge add --person PERSON --number CREDENTIAL [--valid-from D] [--valid-until D]
  badge lost BADGE [--reason TEXT]        disable a lost badge at once (no approval needed)
  badge revoke BADGE [--reason TEXT]
  badge list [--json]
  person may-escort PERSON [--no]         allow (or stop) a staff member escorting visitors
  visitor issue --host STAFF (--name N --id CARD_ID | --person VISITOR) --number CREDENTIAL --purpose TEXT
                [--equipment ITEM]... [--door DOOR]... [--until D]   a temporary visitor badge
  visitor return BADGE [--note TEXT]
  visitor list [--unreturned] [--json]
  presence [--json]                       who is inside each room, visitors with their escort
  user add --username U --role admin|manager|operator|auditor [--name N] [--valid-until D] [--generate]
                                          a dashboard account; the password is typed twice (or read
                                          from stdin, or generated and shown once). No default account.
  user list [--json] | user passwd U [--generate] | user unlock U | user disable U
  doctor                                  check GPIO, serial ports, storage, clock and what is missing
  backup --to FILE [--force]              online, verified backup of the journal and device secrets (mode 0600)
  restore --from FILE [--force] [--public-key PEM]
                                          verify a backup, then replace the journal and secrets with it
                                          (controller stopped; the replaced files are kept aside)
  restore --from FILE --check [--public-key PEM]   only verify a backup
  archive --to FILE [--before D]          move journal records older than storage.retentionYears into
                                          a signed archive file (mode 0600), verified before deletion
  verify-archive FILE [--public-key PEM]  verify an archive file on its own
  secure-outputs                          drive every lock to secured and every buzzer off, then exit
                                          (systemd runs it after the service stops)

Administrative commands are journal records; the actor is --actor NAME or cli:<login user>.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      case 'start':
        return await start(rest);
      case 'verify':
        return verify(rest);
      case 'log':
        return log(rest);
      case 'person':
        return person(rest);
      case 'badge':
        return badge(rest);
      case 'visitor':
        return visitorCommand(rest);
      case 'user':
        return await userCommand(rest);
      case 'presence':
        return presenceCommand(rest);
      case 'doctor':
        return await doctor(load(parseArgs({ args: rest, options: common }).values.config));
      case 'backup':
        return await backupCommand(rest);
      case 'restore':
        return restoreCommand(rest);
      case 'archive':
        return archiveCommand(rest);
      case 'verify-archive':
        return verifyArchiveCommand(rest);
      case 'secure-outputs':
        return secureOutputsCommand(rest);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sekisho: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sekisho: ${(err as Error).message}\nrun "sekisho help" for usage\n`);
      return 2;
    }
    process.stderr.write(`sekisho: ${(err as Error).message}\n`);
    return 1;
  }
}

// -------------------------------------------------------------------------------------------------

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: common });
  const loaded = load(values.config);
  try {
    await startSekisho({ loaded, log: createLogger() });
  } catch (err) {
    if (err instanceof LoggedStartError) return 1;
    throw err;
  }
  return await new Promise<number>(() => undefined); // runs until a signal
}

/** Read-only commands never create a journal: a missing one is an error. */
/** An existing journal, never created here; `readonly` for commands that only look. */
function openExisting(loaded: LoadedConfig, opts: { readonly?: boolean } = {}) {
  const file = journalFile(loaded.storageDir);
  if (!existsSync(file))
    throw new Error(`no journal at ${file} (has the controller been started with this config?)`);
  return openStorage(loaded, opts);
}

function verify(args: string[]): number {
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
  return report.ok ? 0 : 1;
}

function log(args: string[]): number {
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
    process.stdout.write(
      `${formatLocal(r.at, tz)}  ${String(r.seq).padEnd(8)} ${r.type.padEnd(22)} ${(r.door ?? '-').padEnd(14)} ${detail}\n`,
    );
  }
  return 0;
}

function person(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    name: { type: 'string' },
    id: { type: 'string' },
    category: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
    'lockdown-override': { type: 'boolean' },
    door: { type: 'string' },
    schedule: { type: 'string' },
    no: { type: 'boolean' },
  });
  return withStorage(values, ({ loaded, tz, actor, s, now }) => {
    switch (sub) {
      case 'add': {
        const cat = PersonCategory.safeParse(need(values.category, 'category'));
        if (!cat.success) throw new UsageError('--category: expected staff, contractor or visitor');
        const p = s.registry.addPerson(
          {
            displayId: need(values.id, 'id'),
            name: need(values.name, 'name'),
            category: cat.data,
            validFrom: optTime(values['valid-from'], tz) ?? null,
            validUntil: optTime(values['valid-until'], tz) ?? null,
            lockdownOverride: values['lockdown-override'] ?? false,
          },
          actor,
          now,
        );
        process.stdout.write(
          values.json
            ? `${JSON.stringify(p)}\n`
            : `added ${p.id} ${p.name} [${p.displayId}, ${p.category}]\n`,
        );
        return 0;
      }
      case 'may-escort': {
        const id = positionals[0];
        if (!id) throw new UsageError('usage: sekisho person may-escort PERSON [--no]');
        const allowed = !values.no;
        s.registry.setMayEscort(id, allowed, actor, now);
        process.stdout.write(
          `${id} ${allowed ? 'may now escort visitors' : 'may no longer escort visitors'}\n`,
        );
        return 0;
      }
      case 'grant':
      case 'revoke-door': {
        const id = positionals[0] ?? need(undefined, 'person id (positional)');
        const door = need(values.door, 'door');
        if (!loaded.config.doors.some((d) => d.id === door))
          throw new UsageError(`--door: no door "${door}" in the config`);
        if (!s.registry.getPerson(id)) throw new UsageError(`no person "${id}"`);
        if (sub === 'grant') {
          const schedule = values.schedule ?? 'always';
          if (schedule !== 'always' && !loaded.config.schedules.some((x) => x.id === schedule))
            throw new UsageError(`--schedule: no schedule "${schedule}" in the config`);
          s.registry.grantDoor(id, door, schedule, actor, now);
          process.stdout.write(`granted ${id} through ${door} (${schedule})\n`);
        } else {
          s.registry.revokeDoor(id, door, actor, now);
          process.stdout.write(`revoked ${id} at ${door}\n`);
        }
        return 0;
      }
      case 'list': {
        const people = s.registry.listPeople();
        if (values.json) {
          process.stdout.write(`${JSON.stringify(people)}\n`);
          return 0;
        }
        for (const p of people) {
          const doors = s.registry
            .permissionsFor(p.id)
            .map((x) => `${x.doorId}:${x.scheduleId}`)
            .join(',');
          const until = p.validUntil === null ? '' : ` until ${formatLocal(p.validUntil, tz)}`;
          process.stdout.write(
            `${p.id}  ${p.displayId.padEnd(10)} ${p.category.padEnd(10)} ${p.active ? 'active  ' : 'inactive'} ${p.name}${until} ${doors}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(
          `unknown person command "${sub ?? ''}" (add, grant, revoke-door, may-escort, list)`,
        );
    }
  });
}

function badge(args: string[]): number {
  const { sub, values, positionals } = parseSubcommand(args, {
    person: { type: 'string' },
    number: { type: 'string' },
    format: { type: 'string' },
    reason: { type: 'string' },
    'valid-from': { type: 'string' },
    'valid-until': { type: 'string' },
  });
  return withStorage(values, ({ tz, actor, s, now }) => {
    switch (sub) {
      case 'add': {
        const personId = need(values.person, 'person');
        if (!s.registry.getPerson(personId)) throw new UsageError(`no person "${personId}"`);
        const credential = credentialArg(need(values.number, 'number'), values.format);
        const b = s.registry.addBadge(
          {
            personId,
            credential,
            validFrom: optTime(values['valid-from'], tz) ?? null,
            validUntil: optTime(values['valid-until'], tz) ?? null,
          },
          actor,
          now,
        );
        process.stdout.write(
          values.json ? `${JSON.stringify(b)}\n` : `added badge ${b.id} ${b.masked} for ${personId}\n`,
        );
        return 0;
      }
      case 'lost':
      case 'revoke': {
        const id = positionals[0];
        if (!id) throw new UsageError(`usage: sekisho badge ${sub} BADGE_ID`);
        const status = sub === 'lost' ? 'lost' : 'revoked';
        s.registry.setBadgeStatus(id, status, actor, now, values.reason);
        process.stdout.write(`badge ${id} is ${status}: refused at every door from now on\n`);
        return 0;
      }
      case 'list': {
        const badges = s.registry.listBadges();
        if (values.json) {
          process.stdout.write(`${JSON.stringify(badges)}\n`);
          return 0;
        }
        for (const b of badges) {
          const until = b.validUntil === null ? '' : ` until ${formatLocal(b.validUntil, tz)}`;
          const expired = b.validUntil !== null && b.validUntil <= now ? ' (EXPIRED)' : '';
          process.stdout.write(
            `${b.id}  ${b.masked}  ${b.status.padEnd(8)} person ${b.personId}${until}${expired}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown badge command "${sub ?? ''}" (add, lost, revoke, list)`);
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Operations: backup, restore, secure-outputs

async function backupCommand(args: string[]): Promise<number> {
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
          actor: actorOf(values.actor),
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

function restoreCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      ...common,
      from: { type: 'string' },
      force: { type: 'boolean' },
      check: { type: 'boolean' },
      'public-key': { type: 'string' },
    },
  });
  const from = need(values.from, 'from');
  const keyFile = values['public-key'];
  let trustedPublicKey: ReturnType<typeof createPublicKey> | undefined;
  if (keyFile) {
    try {
      trustedPublicKey = createPublicKey(readFileSync(keyFile, 'utf8'));
    } catch (err) {
      throw new UsageError(
        `--public-key: cannot read a public key from ${keyFile}: ${(err as Error).message}`,
      );
    }
  }
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
    actor: actorOf(values.actor),
    force: values.force,
    trustedPublicKey,
  });
  process.stdout.write(`restored ${from} into ${loaded.storageDir}\n`);
  for (const line of describeManifest(r.manifest)) process.stdout.write(`  ${line}\n`);
  for (const o of r.overridden) process.stdout.write(`  overridden with --force: ${o}\n`);
  process.stdout.write(
    r.setAside ? `  the replaced files are in ${r.setAside}\n` : '  there was nothing to replace\n',
  );
  process.stdout.write(`  journal head now seq ${r.head.seq} (the restore itself is journaled and signed)\n`);
  process.stdout.write('Start the controller again: sudo systemctl start sekisho\n');
  return 0;
}

// -------------------------------------------------------------------------------------------------
// Archiving (policy §5(2)⑪ウ: 5 years; §8(1)③: protected against tampering and deletion)

function archiveCommand(args: string[]): number {
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
      actor: actorOf(values.actor),
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

function publicKeyFrom(file: string) {
  try {
    return createPublicKey(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--public-key: cannot read a public key from ${file}: ${(err as Error).message}`);
  }
}

function verifyArchiveCommand(args: string[]): number {
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

/**
 * Drives every door's lock output to its secured level and every buzzer off, then releases the
 * pins (Raspberry Pi kernels keep a released output at its last level). For systemd's ExecStopPost,
 * so the door is secured however the service ended — even if the process was killed mid-grant.
 */
export function secureOutputs(
  loaded: LoadedConfig,
  options: CreateBoardOptions = {},
): { secured: string[]; errors: string[] } {
  const { config } = loaded;
  if (config.board.kind === 'sim') return { secured: [], errors: [] };
  const secure = secureLevels(config.doors);
  const secured: string[] = [];
  const errors: string[] = [];
  const board = createBoard(config, options);
  for (const door of config.doors) {
    const names = doorPinNames(door.id);
    const outputs = [
      { name: names.lock, spec: door.lock, what: 'locked' },
      ...(door.buzzer ? [{ name: names.buzzer, spec: door.buzzer, what: 'off' }] : []),
    ];
    for (const o of outputs) {
      try {
        board.addOutput(o.name, o.spec, secure[o.name]!);
        const volts = pinLevel(secure[o.name]!, o.spec.activeLow) ? '3.3 V' : '0 V';
        secured.push(`${o.name}: BCM ${o.spec.pin} at ${volts} (${o.what})`);
      } catch (err) {
        errors.push(`${o.name}: ${(err as Error).message}`);
      }
    }
  }
  try {
    board.close(secure);
  } catch (err) {
    errors.push((err as Error).message);
  }
  return { secured, errors };
}

function secureOutputsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: common });
  const loaded = load(values.config);
  if (loaded.config.board.kind === 'sim') {
    process.stdout.write('simulated board: no outputs to secure\n');
    return 0;
  }
  const r = secureOutputs(loaded);
  for (const line of r.secured) process.stdout.write(`secured ${line}\n`);
  for (const line of r.errors) process.stderr.write(`sekisho: could not secure ${line}\n`);
  return r.errors.length > 0 ? 1 : 0;
}
