/**
 * `sekisho upgrade FILE`, `sekisho upgrade --check FILE`, `sekisho upgrade --rollback` (on the
 * device, as root) and `sekisho release` (for maintainers, run by scripts/release.sh).
 * Exit codes: 0 done, 1 failed after it began (what was changed is put back, or the message says
 * what to do), 2 usage or config (no release key pinned), 3 not an artefact or damaged, 4 not signed
 * by the pinned release key, 5 made for another machine, 6 a downgrade, the same version, or a
 * journal schema newer than the release knows.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedConfig } from '../config/index.js';
import { publicKeyId, SCHEMA_VERSION } from '../journal/index.js';
import {
  layout,
  noRestart,
  packRelease,
  RELEASE_SUFFIX,
  readInstalled,
  rollback,
  systemdService,
  UpgradeError,
  upgrade,
  verifyRelease,
} from '../upgrade/index.js';
import { cliIdentity, common, load, UsageError } from './common.js';
import { EXIT_OK } from './exit-codes.js';

const options = {
  ...common,
  check: { type: 'boolean' },
  rollback: { type: 'boolean' },
  root: { type: 'string' },
  'no-restart': { type: 'boolean' },
  unit: { type: 'string' },
} as const;

/** The pinned release key: `upgrade.releaseKey` in the config, relative to the config file. */
export function releaseKeyOf(loaded: LoadedConfig): KeyObject {
  const path = loaded.config.upgrade?.releaseKey;
  if (path === undefined)
    throw new UpgradeError(
      'usage',
      `no release key is pinned: set upgrade.releaseKey in ${loaded.file} to the release public key's PEM file (docs/operations.md, "Upgrades")`,
    );
  const file = resolve(dirname(loaded.file), path);
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UpgradeError(
      'usage',
      `upgrade.releaseKey: cannot read ${file} as a public key (${(err as Error).message})`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UpgradeError(
      'usage',
      `upgrade.releaseKey: ${file} is a ${key.asymmetricKeyType} key, not Ed25519`,
    );
  return key;
}

export async function upgradeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const loaded = load(values.config);
    const root = values.root ?? '/';
    const service = values['no-restart'] ? noRestart : systemdService(values.unit ?? 'sekisho.service');
    const identity = cliIdentity();
    const actor = identity.actor;
    // Changing the software is journaled with the person who did it, like every administrative act.
    const needPerson = () => {
      if (identity.person === null)
        throw new UsageError(
          `${actor} is no person: run "sudo sekisho upgrade …" from your own login, so that the journal names who changed the software`,
        );
    };
    if (values.rollback) {
      needPerson();
      if (positionals.length > 0) throw new UsageError('--rollback takes no artefact');
      const r = await rollback({ loaded, root, service, actor, say });
      say(`rolled back from Sekisho ${r.from.version} to ${r.to.version}`);
      if (r.journalRestored)
        say(
          `the journal is the one backed up before the upgrade; rows ${r.rowsSetAside ? `${r.rowsSetAside.from}–${r.rowsSetAside.through}` : '(none)'} ` +
            `written since are kept in ${r.setAside} and exported to ${r.exported}`,
        );
      if (values['no-restart'])
        say('the service was not started (--no-restart): sudo systemctl start sekisho');
      return EXIT_OK;
    }
    if (positionals.length !== 1)
      throw new UsageError(`usage: sekisho upgrade FILE${RELEASE_SUFFIX} | --check FILE | --rollback`);
    const file = resolve(positionals[0]!);
    const releaseKey = releaseKeyOf(loaded);
    if (values.check) {
      const h = verifyRelease(file, releaseKey);
      const installed = readInstalled(layout(root).app);
      say(
        `${file}: Sekisho ${h.manifest.version}, schema ${h.manifest.schemaVersion}, ${h.manifest.platform}-${h.manifest.arch}, ` +
          `Node.js ABI ${h.manifest.nodeAbi}, ${h.manifest.files.length} files; signature by release key ${h.keyId} and every checksum verified`,
      );
      say(`SHA-256 ${h.sha256}${installed ? `; installed now: ${installed.version}` : ''}`);
      return EXIT_OK;
    }
    needPerson();
    const r = await upgrade({ artefact: file, releaseKey, loaded, root, service, actor, say });
    say(
      `upgraded Sekisho ${r.from.version} → ${r.to.version}${r.upgradedSeq !== null ? ` (journal row ${r.upgradedSeq})` : ''}`,
    );
    if (values['no-restart']) say('the service was not started (--no-restart): sudo systemctl start sekisho');
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UpgradeError) {
      process.stderr.write(`sekisho upgrade: ${err.message}\n`);
      return err.exit;
    }
    throw err;
  }
}

/**
 * `sekisho release --tree DIR --key PEM --out FILE`: packs a prepared tree (scripts/release.sh)
 * into a signed artefact. Run with the tree's own code, so the schema version is the tree's.
 */
export function releaseCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { tree: { type: 'string' }, key: { type: 'string' }, out: { type: 'string' } },
  });
  if (!values.tree || !values.key || !values.out)
    throw new UsageError('usage: sekisho release --tree DIR --key PEM --out FILE');
  const tree = resolve(values.tree);
  for (const f of ['package.json', 'bin/sekisho-dist.mjs', 'dist/build-stamp.json', 'node_modules'])
    if (!existsSync(join(tree, f)))
      throw new UsageError(`${tree} has no ${f}: prepare it with scripts/release.sh`);
  if (existsSync(values.out)) throw new UsageError(`${values.out} exists; releases are never overwritten`);
  const signingKey = createPrivateKey(readFileSync(values.key, 'utf8'));
  if (signingKey.asymmetricKeyType !== 'ed25519')
    throw new UsageError(`${values.key} is not an Ed25519 private key`);
  const publicKey = createPublicKey(signingKey);
  const version = (JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as { version: string })
    .version;
  try {
    const r = packRelease({
      tree,
      out: resolve(values.out),
      signingKey,
      publicKey,
      version,
      schemaVersion: SCHEMA_VERSION,
    });
    process.stdout.write(
      `${r.file}: Sekisho ${version}, schema ${SCHEMA_VERSION}, ${r.manifest.platform}-${r.manifest.arch}, Node.js ABI ${r.manifest.nodeAbi}, ` +
        `${r.manifest.files.length} files, signed by release key ${publicKeyId(publicKey)}\nSHA-256 ${r.sha256}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UpgradeError) {
      process.stderr.write(`sekisho release: ${err.message}\n`);
      return err.exit;
    }
    throw err;
  }
}
