/**
 * Offline upgrades (docs/operations.md, "Upgrades"): the signed release artefact and its refusals
 * (small fixture artefacts), the upgrade and rollback around a running controller on the simulated
 * board (the lock output secured throughout, presence kept), the systemd command line, the
 * migration runner's refusal of a newer schema, and a real artefact built by scripts/release.sh from
 * this work tree, installed into a temporary root and rolled back across a schema migration.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { holdInstanceLock } from '../../controller/instance-lock.js';
import {
  Journal,
  loadDeviceSecrets,
  loadOrCreateDeviceSecrets,
  MIGRATIONS,
  openDatabase,
  SCHEMA_VERSION,
  verifyJournal,
} from '../../controller/journal/index.js';
import { silentLogger } from '../../controller/log.js';
import { Registry } from '../../controller/registry/index.js';
import { Controller } from '../../controller/runtime/index.js';
import {
  DECLARED_GAP_SCHEMA,
  noRestart,
  packRelease,
  readState,
  rollback,
  type ServiceControl,
  systemdService,
  thisPlatform,
  UpgradeError,
  upgrade,
  verifyRelease,
} from '../../controller/upgrade/index.js';
import { doorPinNames, SimBoard, secureLevels } from '../../hardware/index.js';
import { BIN, doorConfig, seedStaff, simReaders, writeConfig } from '../helpers/controller.js';
import { ROOT, tempDir } from '../helpers/util.js';

const dirs: string[] = [];
const temp = () => {
  const d = tempDir('sekisho-upgrade-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey };
}
const RELEASE = keyPair();
const OTHER = keyPair();

/** A small tree standing in for an installed release. */
function fixtureTree(dir: string, version: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sekisho', version }));
  writeFileSync(join(dir, 'bin/sekisho-dist.mjs'), '#!/usr/bin/env node\n');
  chmodSync(join(dir, 'bin/sekisho-dist.mjs'), 0o755);
  writeFileSync(join(dir, 'lib/a.txt'), 'a'.repeat(1000));
  return dir;
}

function fixtureArtefact(
  version: string,
  o: { key?: { privateKey: KeyObject; publicKey: KeyObject }; arch?: string; schemaVersion?: number } = {},
): string {
  const d = temp();
  const key = o.key ?? RELEASE;
  const out = join(d, `sekisho-${version}.sekisho-release`);
  packRelease({
    tree: fixtureTree(join(d, 'tree'), version),
    out,
    signingKey: key.privateKey,
    publicKey: key.publicKey,
    version,
    schemaVersion: o.schemaVersion ?? SCHEMA_VERSION,
    platform: { ...thisPlatform(), ...(o.arch ? { arch: o.arch } : {}) },
  });
  return out;
}

const refusal = (fn: () => unknown): UpgradeError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpgradeError) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('the release artefact', () => {
  it('verifies a signed artefact and refuses every kind of damage with its own message', () => {
    const file = fixtureArtefact('0.2.0');
    const h = verifyRelease(file, RELEASE.publicKey);
    expect(h.manifest.version).toBe('0.2.0');
    expect(h.manifest.files.map((f) => [f.path, f.mode])).toEqual([
      ['bin/sekisho-dist.mjs', 0o755],
      ['lib/a.txt', 0o644],
      ['package.json', 0o644],
    ]);
    const bytes = readFileSync(file);
    const variant = (name: string, b: Buffer) => {
      const f = join(temp(), name);
      writeFileSync(f, b);
      return f;
    };

    // One byte of a file changed: its checksum names it.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100]! ^= 1; // inside lib/a.txt: only package.json (~40 bytes) follows it
    let e = refusal(() => verifyRelease(variant('flip', flipped), RELEASE.publicKey));
    expect([e.kind, e.exit]).toEqual(['damaged', 3]);
    expect(e.message).toMatch(/1 file\(s\) differ from their signed SHA-256 \(lib\/a\.txt\)/);

    // The manifest changed after signing (a version bumped by hand).
    const bumped = Buffer.from(
      bytes.toString('latin1').replace('"version":"0.2.0"', '"version":"0.3.0"'),
      'latin1',
    );
    e = refusal(() => verifyRelease(variant('bumped', bumped), RELEASE.publicKey));
    expect([e.kind, e.exit]).toEqual(['signature', 4]);
    expect(e.message).toMatch(/does not verify with the pinned release key/);

    // No signature line.
    const text = bytes.toString('latin1');
    const first = text.indexOf('\n', text.indexOf('\n') + 1);
    const second = text.indexOf('\n', first + 1);
    const unsigned = Buffer.concat([bytes.subarray(0, first + 1), bytes.subarray(second + 1)]);
    e = refusal(() => verifyRelease(variant('unsigned', unsigned), RELEASE.publicKey));
    expect(e.kind).toBe('signature');
    expect(e.message).toMatch(/is not signed/);

    // Signed, but by another key (a manager with the CLI but without the release key).
    e = refusal(() => verifyRelease(fixtureArtefact('0.2.0', { key: OTHER }), RELEASE.publicKey));
    expect(e.kind).toBe('signature');
    expect(e.message).toMatch(/is signed by key [0-9a-f]{16}, not by the pinned release key [0-9a-f]{16}/);

    e = refusal(() =>
      verifyRelease(variant('short', bytes.subarray(0, bytes.length - 10)), RELEASE.publicKey),
    );
    expect(e.kind).toBe('damaged');
    expect(e.message).toMatch(/truncated or appended to/);

    e = refusal(() =>
      verifyRelease(variant('junk', Buffer.from('PK\x03\x04 not a release')), RELEASE.publicKey),
    );
    expect(e.message).toMatch(/is not a Sekisho release artefact/);

    // Made for another architecture / Node.js ABI.
    e = refusal(() =>
      verifyRelease(fixtureArtefact('0.2.0', { arch: 'arm64' }), RELEASE.publicKey, {
        ...thisPlatform(),
        arch: 'x64',
      }),
    );
    expect([e.kind, e.exit]).toEqual(['platform', 5]);
    expect(e.message).toMatch(/architecture arm64, this machine x64/);
    e = refusal(() => verifyRelease(file, RELEASE.publicKey, { ...thisPlatform(), nodeAbi: '999' }));
    expect(e.message).toMatch(new RegExp(`Node.js ABI ${process.versions.modules} .*has ABI 999`));
  });

  it('refuses to pack a compiled native module for another architecture than it names', () => {
    const d = temp();
    const tree = fixtureTree(join(d, 'tree'), '0.2.0');
    mkdirSync(join(tree, 'node_modules/native/build/Release'), { recursive: true });
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf.writeUInt16LE(183, 18); // EM_AARCH64
    writeFileSync(join(tree, 'node_modules/native/build/Release/native.node'), elf);
    const pack = (arch: string) =>
      packRelease({
        tree,
        out: join(d, `${arch}.sekisho-release`),
        signingKey: RELEASE.privateKey,
        publicKey: RELEASE.publicKey,
        version: '0.2.0',
        schemaVersion: SCHEMA_VERSION,
        platform: { platform: 'linux', arch, nodeAbi: '137' },
      });
    const e = refusal(() => pack('x64'));
    expect(e.message).toMatch(/native\.node is a native module for ELF machine 183, not x64/);
    expect(pack('arm64').manifest.arch).toBe('arm64');
  });
});

describe('the service around an upgrade', () => {
  it('is stopped and started with systemctl (its command line)', async () => {
    const calls: string[][] = [];
    const s = systemdService('sekisho.service', (argv) => void calls.push([...argv]));
    await s.stop();
    await s.start();
    expect(calls).toEqual([
      ['systemctl', 'stop', 'sekisho.service'],
      ['systemctl', 'start', 'sekisho.service'],
    ]);
  });
});

describe('the migration runner and a newer schema', () => {
  it('refuses a journal newer than the code, naming both versions and the way back', () => {
    const file = join(temp(), 'journal.db');
    openDatabase(file).close(); // the newest schema
    const older = MIGRATIONS.slice(0, SCHEMA_VERSION - 1); // what the previous version knows
    for (const readonly of [false, true]) {
      expect(() => openDatabase(file, { migrations: older, readonly })).toThrow(
        new RegExp(
          `schema version ${SCHEMA_VERSION} is newer than this Sekisho knows \\(${SCHEMA_VERSION - 1}\\).*sekisho upgrade --rollback.*before-\\*\\.sekisho-backup`,
        ),
      );
    }
    // Refused without a change: still the newer schema.
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });
});

describe('upgrade and rollback around a running controller', () => {
  it('keeps the lock output secured and who is inside across the stop, the switch and the start', async () => {
    const dir = temp();
    const pub = join(dir, 'release.pub.pem');
    writeFileSync(pub, RELEASE.publicKey.export({ type: 'spki', format: 'pem' }));
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { upgrade: { releaseKey: 'release.pub.pem' } }),
    );
    const loaded = loadConfig(cfgFile);
    const root = join(dir, 'root');
    // Installed by an older install.sh: /opt/sekisho and /opt/sekisho.previous are folders.
    fixtureTree(join(root, 'opt/sekisho'), '0.1.0');
    fixtureTree(join(root, 'opt/sekisho.previous'), '0.0.9');
    const staff = seedStaff(cfgFile, {
      name: '山田',
      displayId: 'S-1',
      door: 'machine-room',
      credential: '0011223344',
    });

    const lockPin = doorPinNames('machine-room').lock;
    const secured = secureLevels(loaded.config.doors)[lockPin]!;
    const boards: SimBoard[] = [];
    let c: Controller | undefined;
    let stopAt = -1;
    const startOne = async () => {
      const board = new SimBoard();
      boards.push(board);
      c = await Controller.start({ loaded: loadConfig(cfgFile), board, log: silentLogger });
    };
    const service: ServiceControl = {
      name: 'test controller',
      stop: async () => {
        stopAt = boards.at(-1)!.history(lockPin).length;
        await c!.stop('upgrade');
      },
      start: startOne,
    };
    await startOne();
    // The staff member escorts a visitor in: both inside, the visitor with their escort.
    const at = Date.now();
    c!.registry.setMayEscort(staff.personId, true, 'test:setup', at);
    const visitor = c!.registry.issueVisitorBadge(
      {
        visitor: { displayId: 'V-1', name: '田村' },
        credential: '0066554433',
        hostId: staff.personId,
        purpose: 'UPS 点検',
        doors: ['machine-room'],
      },
      'test:setup',
      at,
    );
    expect(c!.simulateBadge('entry', '0066554433').decision.reason).toBe('escort_required');
    expect(c!.simulateBadge('entry', '0011223344').decision.granted).toBe(true);
    const inside = () => {
      const p = c!.derived.presence['machine-room'] ?? {};
      return Object.values(p)
        .map((e) => ({ person: e.personId, escort: e.escort ?? null }))
        .sort((a, b) => a.person.localeCompare(b.person));
    };
    const expected = [
      { person: staff.personId, escort: null },
      { person: visitor.personId, escort: staff.personId },
    ].sort((a, b) => a.person.localeCompare(b.person));
    expect(inside()).toEqual(expected);

    // Refused while the controller runs and the service is not restarted by the command.
    const artefact = fixtureArtefact('0.2.0');
    const busy = holdInstanceLock(loaded.storageDir, 'controller');
    await expect(
      upgrade({
        artefact,
        releaseKey: RELEASE.publicKey,
        loaded,
        root,
        service: { name: 'none', stop: async () => {}, start: async () => {} },
        actor: 'cli:alice/root',
      }),
    ).rejects.toThrow(/the controller is still running/);
    busy.release();
    expect(lstatSync(join(root, 'opt/sekisho')).isDirectory()).toBe(true); // nothing changed
    expect(
      existsSync(join(root, 'opt/sekisho-releases')) ? readdirSync(join(root, 'opt/sekisho-releases')) : [],
    ).toEqual([]);

    const lines: string[] = [];
    const r = await upgrade({
      artefact,
      releaseKey: RELEASE.publicKey,
      loaded,
      root,
      service,
      actor: 'cli:alice/root',
      say: (l) => lines.push(l),
    });
    expect(r.backup).toBeNull(); // same schema: nothing migrates
    const [before, after] = boards as [SimBoard, SimBoard];
    // From the stop on, the old run wrote the lock only to its secured level, and ended there;
    // the new run started it secured and never moved it (no badge was presented).
    expect(
      before
        .history(lockPin)
        .slice(stopAt)
        .every((w) => w.on === secured),
    ).toBe(true);
    expect(before.history(lockPin).at(-1)!.on).toBe(secured);
    expect(after.history(lockPin).length).toBeGreaterThan(0);
    expect(after.history(lockPin).every((w) => w.on === secured)).toBe(true);
    // Who is inside, and the visitor's escort, are rebuilt from the journal by the new run.
    expect(inside()).toEqual(expected);

    // The links: the old folder adopted as a release, the new one current.
    const app = join(root, 'opt/sekisho');
    expect(lstatSync(app).isSymbolicLink()).toBe(true);
    expect(readlinkSync(app)).toBe(`sekisho-releases/${r.to.dir.split('/').at(-1)}`);
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).version).toBe('0.2.0');
    expect(JSON.parse(readFileSync(join(root, 'opt/sekisho.previous/package.json'), 'utf8')).version).toBe(
      '0.1.0',
    );
    expect(
      lines.some((l) => l.includes('stopping the service (test controller); the doors stay locked')),
    ).toBe(true);

    // Journaled, signed, by whom.
    const probe = openDatabase(join(loaded.storageDir, 'journal.db'), { readonly: true });
    const row = probe.prepare("SELECT actor, bytes FROM journal WHERE type = 'software_upgraded'").get() as {
      actor: string;
      bytes: string;
    };
    expect(row.actor).toBe('cli:alice/root');
    expect(JSON.parse(row.bytes).data).toMatchObject({
      from: { version: '0.1.0', schemaVersion: SCHEMA_VERSION },
      to: { version: '0.2.0', schemaVersion: SCHEMA_VERSION },
      artefactSha256: r.artefactSha256,
      backup: null,
    });
    expect(verifyJournal(probe, { publicKey: loadDeviceSecrets(loaded.storageDir).publicKey }).ok).toBe(true);
    probe.close();

    // A downgrade and the same version are refused before anything is touched.
    for (const [v, re] of [
      ['0.1.5', /older than the installed 0\.2\.0: a downgrade is refused.*--rollback/],
      ['0.2.0', /Sekisho 0\.2\.0 is already installed/],
    ] as const) {
      const e = await upgrade({
        artefact: fixtureArtefact(v),
        releaseKey: RELEASE.publicKey,
        loaded,
        root,
        service,
        actor: 'x',
      }).catch((err) => err);
      expect(e).toBeInstanceOf(UpgradeError);
      expect([e.exit, e.message]).toEqual([6, expect.stringMatching(re)]);
    }
    expect(boards).toHaveLength(2); // the refusals did not stop the service

    // The rollback: no schema migrated, so the journal stays and records it.
    const rb = await rollback({ loaded, root, service, actor: 'cli:bob/root' });
    expect(rb.journalRestored).toBe(false);
    expect(realpathSync(app)).toMatch(/opt\/sekisho-releases\/0\.1\.0-.*-installed$/);
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).version).toBe('0.1.0');
    expect(JSON.parse(readFileSync(join(root, 'opt/sekisho.previous/package.json'), 'utf8')).version).toBe(
      '0.2.0',
    );
    const third = boards[2]!;
    expect(
      boards[1]!
        .history(lockPin)
        .slice(stopAt)
        .every((w) => w.on === secured),
    ).toBe(true);
    expect(third.history(lockPin).every((w) => w.on === secured)).toBe(true);
    expect(inside()).toEqual(expected);
    expect(readState(loaded.storageDir)).toBeUndefined(); // retired: a second rollback has nothing to undo
    await expect(rollback({ loaded, root, service, actor: 'x' })).rejects.toThrow(
      /newer than the running 0\.1\.0: it is the version already rolled back from/,
    );
    await c!.stop('test');
  }, 60_000);
});

describe('an upgrade that fails after it began', () => {
  it('journals software_upgrade_failed, removes the new release and starts the old version again', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'release.pub.pem'), RELEASE.publicKey.export({ type: 'spki', format: 'pem' }));
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { upgrade: { releaseKey: 'release.pub.pem' } }),
    );
    const loaded = loadConfig(cfgFile);
    const root = join(dir, 'root');
    fixtureTree(join(root, 'opt/sekisho'), '0.1.0');
    seedStaff(cfgFile, { name: '高橋', displayId: 'S-4', door: 'machine-room', credential: '0012121212' });
    const calls: string[] = [];
    const service: ServiceControl = {
      name: 'test',
      stop: async () => void calls.push('stop'),
      start: async () => void calls.push('start'),
    };
    // The link switch meets a folder where its temporary link must go (the file system refuses).
    mkdirSync(join(root, `opt/sekisho.previous.switch-${process.pid}/x`), { recursive: true });
    const e = await upgrade({
      artefact: fixtureArtefact('0.2.0'),
      releaseKey: RELEASE.publicKey,
      loaded,
      root,
      service,
      actor: 'cli:alice/root',
    }).catch((err) => err);
    expect(e).toBeInstanceOf(UpgradeError);
    expect(e.exit).toBe(1);
    expect(calls).toEqual(['stop', 'start']); // the old version runs again
    expect(JSON.parse(readFileSync(join(root, 'opt/sekisho/package.json'), 'utf8')).version).toBe('0.1.0');
    expect(readdirSync(join(root, 'opt/sekisho-releases')).filter((n) => n.startsWith('0.2.0'))).toEqual([]);
    expect(readState(loaded.storageDir)).toBeUndefined();
    const db = openDatabase(join(loaded.storageDir, 'journal.db'), { readonly: true });
    const rows = db
      .prepare("SELECT type, bytes FROM journal WHERE type LIKE 'software_%' ORDER BY seq")
      .all() as { type: string; bytes: string }[];
    expect(rows.map((r) => r.type)).toEqual(['software_upgraded', 'software_upgrade_failed']);
    expect(JSON.parse(rows[1]!.bytes).data).toMatchObject({ step: 'switch', to: { version: '0.2.0' } });
    expect(verifyJournal(db, { publicKey: loadDeviceSecrets(loaded.storageDir).publicKey }).ok).toBe(true);
    db.close();
  }, 60_000);
});

describe('a service that cannot be stopped', () => {
  it('leaves everything as it was when systemctl stop fails', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'release.pub.pem'), RELEASE.publicKey.export({ type: 'spki', format: 'pem' }));
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { upgrade: { releaseKey: 'release.pub.pem' } }),
    );
    const root = join(dir, 'root');
    fixtureTree(join(root, 'opt/sekisho'), '0.1.0');
    const calls: string[][] = [];
    const service = systemdService('sekisho.service', (argv) => {
      calls.push([...argv]);
      throw new Error(`${argv.join(' ')} failed: System has not been booted with systemd`);
    });
    const e = await upgrade({
      artefact: fixtureArtefact('0.2.0'),
      releaseKey: RELEASE.publicKey,
      loaded: loadConfig(cfgFile),
      root,
      service,
      actor: 'cli:alice/root',
    }).catch((err) => err);
    expect([e.exit, e.message]).toEqual([
      1,
      expect.stringMatching(
        /could not stop the service: systemctl stop sekisho\.service failed: .*nothing was switched.*--no-restart/,
      ),
    ]);
    expect(calls).toEqual([['systemctl', 'stop', 'sekisho.service']]);
    expect(lstatSync(join(root, 'opt/sekisho')).isDirectory()).toBe(true);
    expect(readdirSync(join(root, 'opt/sekisho-releases'))).toEqual([]); // the unpacked release removed
  });
});

describe('a rollback across a migration of a journal with declared gaps', () => {
  it('puts the backup back and skips the seqs set aside with journal_restored, so none is used twice', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'release.pub.pem'), RELEASE.publicKey.export({ type: 'spki', format: 'pem' }));
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { upgrade: { releaseKey: 'release.pub.pem' } }),
    );
    const loaded = loadConfig(cfgFile);
    const root = join(dir, 'root');
    fixtureTree(join(root, 'opt/sekisho'), '0.1.0');
    seedStaff(cfgFile, { name: '鈴木', displayId: 'S-3', door: 'machine-room', credential: '0055667788' });
    const file = join(loaded.storageDir, 'journal.db');
    const actor = 'cli:alice/root';

    // A release one schema ahead of this code: the upgrade backs up first.
    const artefact = fixtureArtefact('0.2.0', { schemaVersion: SCHEMA_VERSION + 1 });
    const r = await upgrade({
      artefact,
      releaseKey: RELEASE.publicKey,
      loaded,
      root,
      service: noRestart,
      actor,
    });
    expect(r.backup).toMatch(/before-0\.2\.0-.*\.sekisho-backup$/);
    const backupHead = readState(loaded.storageDir)!.backupHeadSeq!;

    // What the new version does at its start: migrate (its one more migration), then write rows.
    const newer = [
      ...MIGRATIONS,
      {
        name: 'test: one more table',
        up: (d: Database.Database) => d.exec('CREATE TABLE newer (x INTEGER)'),
      },
    ];
    const secrets = loadDeviceSecrets(loaded.storageDir);
    {
      const db = openDatabase(file, { migrations: newer });
      const journal = new Journal(db, { controllerId: 'test-ctl' });
      for (let i = 0; i < 3; i++)
        journal.append({ type: 'exit_request', at: Date.now(), door: 'machine-room', data: {} });
      journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId);
      db.close();
    }
    const headBefore = (
      new Database(file, { readonly: true }).prepare('SELECT MAX(seq) AS m FROM journal').get() as {
        m: number;
      }
    ).m;

    // An altered backup is refused before the service stops, and nothing changes.
    const good = readFileSync(r.backup!);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    writeFileSync(r.backup!, bad);
    const calls: string[] = [];
    const counting: ServiceControl = {
      name: 'test',
      stop: async () => void calls.push('stop'),
      start: async () => void calls.push('start'),
    };
    await expect(rollback({ loaded, root, service: counting, actor: 'cli:bob/root' })).rejects.toThrow(
      /is not the file written before the upgrade \(its SHA-256 differs\): nothing was changed/,
    );
    expect(calls).toEqual([]);
    const probe = new Database(file, { readonly: true });
    expect(probe.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    probe.close();
    writeFileSync(r.backup!, good);

    const rb = await rollback({ loaded, root, service: noRestart, actor: 'cli:bob/root' });
    expect(rb.journalRestored).toBe(true);
    expect(rb.rowsSetAside).toEqual({ from: backupHead + 1, through: headBefore });
    // The previous version opens it as it is (no newer schema), and it verifies.
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(verifyJournal(db, { publicKey: secrets.publicKey }).ok).toBe(true);
    const rows = db
      .prepare('SELECT seq, type, bytes FROM journal WHERE seq > ? ORDER BY seq')
      .all(backupHead) as { seq: number; type: string; bytes: string }[];
    expect(rows.map((x) => x.type)).toEqual(['journal_restored', 'software_rolled_back']);
    expect(rows[0]!.seq).toBe(headBefore + 1); // the declared gap: seqs backupHead+1..headBefore are not reused
    expect(JSON.parse(rows[0]!.bytes).data).toMatchObject({
      lostFrom: backupHead + 1,
      lostThrough: headBefore,
      basis: 'replaced_journal',
    });
    expect(JSON.parse(rows[1]!.bytes).data).toMatchObject({ seqsReused: false, journalRestored: true });
    db.close();
    // The rows set aside: all there, in the export and in the kept journal.
    const exported = readFileSync(rb.exported!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type: string });
    expect(exported.map((x) => x.seq)).toEqual(
      Array.from({ length: headBefore - backupHead }, (_, i) => backupHead + 1 + i),
    );
    expect(exported.filter((x) => x.type === 'exit_request')).toHaveLength(3);
  }, 60_000);
});

/** Runs a sekisho command: `bin` is the checkout's (tsx) or an installed release's. */
function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SUDO_USER: 'alice', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a real artefact from scripts/release.sh', () => {
  it('installs, migrates after a backup, runs, and rolls back with the rows since kept as evidence', () => {
    const dir = temp();
    const keyFile = join(dir, 'release-key.pem');
    writeFileSync(keyFile, RELEASE.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'release.pub.pem'), RELEASE.publicKey.export({ type: 'spki', format: 'pem' }));
    const rel = spawnSync(
      'bash',
      [
        join(ROOT, 'scripts/release.sh'),
        '--key',
        keyFile,
        '--out',
        join(dir, 'out'),
        '--version',
        '9.9.9',
        '--node-modules',
        join(ROOT, 'node_modules'),
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(rel.stderr).toBe('');
    expect(rel.status).toBe(0);
    const name = `sekisho-9.9.9-${process.platform}-${process.arch}-node${process.versions.modules}.sekisho-release`;
    const artefact = join(dir, 'out', name);
    expect(existsSync(artefact)).toBe(true);

    // A controller whose journal is one schema older, with a person and a badge in it.
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { upgrade: { releaseKey: 'release.pub.pem' } }),
    );
    const loaded = loadConfig(cfgFile);
    const old = SCHEMA_VERSION - 1;
    const dbFile = join(loaded.storageDir, 'journal.db');
    mkdirSync(loaded.storageDir, { recursive: true, mode: 0o700 });
    const secrets = loadOrCreateDeviceSecrets(loaded.storageDir);
    let badgeId: string;
    {
      const db = openDatabase(dbFile, { migrations: MIGRATIONS.slice(0, old) });
      const journal = new Journal(db, { controllerId: 'test-ctl' });
      const registry = new Registry(db, journal, {
        hmacKey: secrets.hmacKey,
        timeZone: 'Asia/Tokyo',
        visitorBadgeUntil: (t) => t + 3_600_000,
      });
      const p = registry.addPerson(
        { name: '佐藤', displayId: 'S-2', category: 'staff' },
        'test:setup',
        Date.now(),
      );
      badgeId = registry.addBadge({ personId: p.id, credential: '0099887766' }, 'test:setup', Date.now()).id;
      journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId);
      db.close();
    }
    const root = join(dir, 'root');
    fixtureTree(join(root, 'opt/sekisho'), '0.1.0'); // the installed version (not run here)

    // The upgrade, as the installed (older) version runs it.
    const up = run(BIN, ['upgrade', artefact, '--root', root, '--no-restart', '--config', cfgFile]);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    expect(up.stdout).toMatch(
      new RegExp(`backup before the schema migration \\(${old} → ${SCHEMA_VERSION}\\)`),
    );
    const state = readState(loaded.storageDir)!;
    expect(state.backup).toMatch(/upgrades\/before-9\.9\.9-.*\.sekisho-backup$/);
    expect(new Database(dbFile, { readonly: true }).pragma('user_version', { simple: true })).toBe(old); // not migrated by the upgrade

    // The new version runs from /opt/sekisho with its own node_modules, and migrates at first use.
    const installed = join(root, 'opt/sekisho/bin/sekisho-dist.mjs');
    expect(realpathSync(installed).startsWith(join(root, 'opt/sekisho-releases/9.9.9-'))).toBe(true);
    const installedDir = realpathSync(join(root, 'opt/sekisho'));
    const releases = readdirSync(join(root, 'opt/sekisho-releases')).sort();
    // The installed command checks an artefact, and refuses a damaged one (exit 3) untouched.
    const check = run(installed, ['upgrade', '--check', artefact, '--config', cfgFile]);
    expect(check.stdout).toMatch(
      /Sekisho 9\.9\.9, schema \d+, .*signature by release key [0-9a-f]{16} and every checksum verified/,
    );
    expect(check.status).toBe(0);
    const tampered = join(dir, 'tampered.sekisho-release');
    const bytes = readFileSync(artefact);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(tampered, bytes);
    const t = run(installed, ['upgrade', tampered, '--root', root, '--no-restart', '--config', cfgFile]);
    expect([t.status, t.stderr]).toEqual([
      3,
      expect.stringMatching(/differ from their signed SHA-256 .*nothing was changed/),
    ]);
    expect(realpathSync(join(root, 'opt/sekisho'))).toBe(installedDir);
    expect(readdirSync(join(root, 'opt/sekisho-releases')).sort()).toEqual(releases);

    const lost = run(installed, [
      'badge',
      'lost',
      badgeId,
      '--reason',
      'lost after the upgrade',
      '--config',
      cfgFile,
    ]);
    expect(lost.stderr).toBe('');
    expect(lost.status).toBe(0);
    expect(new Database(dbFile, { readonly: true }).pragma('user_version', { simple: true })).toBe(
      SCHEMA_VERSION,
    );

    // The previous version cannot read the migrated journal, and says so.
    expect(() => openDatabase(dbFile, { migrations: MIGRATIONS.slice(0, old), readonly: true })).toThrow(
      /newer than this Sekisho knows/,
    );

    // Root without sudo is no person: the journal must name who changes the software.
    const nobody = run(
      installed,
      ['upgrade', '--rollback', '--root', root, '--no-restart', '--config', cfgFile],
      { SUDO_USER: '' },
    );
    expect([nobody.status, nobody.stderr]).toEqual([
      2,
      expect.stringMatching(/is no person: run "sudo sekisho upgrade …" from your own login/),
    ]);

    // The rollback, run by the new version.
    const back = run(
      installed,
      ['upgrade', '--rollback', '--root', root, '--no-restart', '--config', cfgFile],
      { SUDO_USER: 'bob' },
    );
    expect(back.stderr).toBe('');
    expect(back.status).toBe(0);
    expect(back.stdout).toMatch(/rolled back from Sekisho 9\.9\.9 to 0\.1\.0/);
    expect(JSON.parse(readFileSync(join(root, 'opt/sekisho/package.json'), 'utf8')).version).toBe('0.1.0');

    // The journal is the backup's again, in the old schema, readable by the previous version,
    // and it says what happened and where the rows since are.
    const db = openDatabase(dbFile, { migrations: MIGRATIONS.slice(0, old), readonly: true });
    expect(verifyJournal(db, { publicKey: secrets.publicKey }).ok).toBe(true);
    const types = (db.prepare('SELECT type FROM journal ORDER BY seq').all() as { type: string }[]).map(
      (r) => r.type,
    );
    expect(types).not.toContain('badge_status_changed');
    expect(types.at(-1)).toBe('software_rolled_back');
    const rb = JSON.parse(
      (db.prepare("SELECT bytes FROM journal WHERE type = 'software_rolled_back'").get() as { bytes: string })
        .bytes,
    ).data;
    db.close();
    expect(rb).toMatchObject({
      from: { version: '9.9.9', schemaVersion: SCHEMA_VERSION },
      to: { version: '0.1.0', schemaVersion: old },
      journalRestored: true,
      // Schemas before 7 have no declared gaps: the rows since were dropped and their seqs reused.
      seqsReused: old < DECLARED_GAP_SCHEMA,
    });
    // The rows written since the backup: the upgrade's own record and the badge, exported and kept.
    const exported = readFileSync(rb.exported, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(exported.map((r) => r.type)).toEqual(
      expect.arrayContaining(['software_upgraded', 'badge_status_changed']),
    );
    expect(exported[0].seq).toBe(rb.rowsSetAside.from);
    const aside = openDatabase(rb.setAside, { readonly: true });
    expect(verifyJournal(aside, { publicKey: secrets.publicKey }).ok).toBe(true);
    aside.close();
  }, 300_000);
});
