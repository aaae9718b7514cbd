/**
 * The install artefacts: deploy/sekisho.service checked by systemd-analyze (verify and an offline
 * security review) and by its required settings; scripts/install.sh run with --dry-run --root into
 * a temp folder (the tree, the modes, what it would do to the system, updates, refusals, the
 * dashboard's certificate).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliActor, personOf } from '../../controller/accounts/person.js';
import { canonicalName, certInfo } from '../../controller/dashboard-transport.js';
import { ROOT, tempDir } from '../helpers/util.js';

const UNIT = join(ROOT, 'deploy/sekisho.service');
const INSTALL = join(ROOT, 'scripts/install.sh');
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const dirs: string[] = [];
const temp = () => {
  const d = tempDir('sekisho-install-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The unit as section → key → values (a key may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      out[section] = {};
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const values = out[section]![key] ?? [];
    values.push(line.slice(eq + 1));
    out[section]![key] = values;
  }
  return out;
}

function install(args: string[]) {
  const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('deploy/sekisho.service', () => {
  it('passes systemd-analyze verify without a single warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', UNIT], { encoding: 'utf8' });
    expect(r.error, 'systemd-analyze is needed (Debian package systemd)').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('systemd-analyze verify does catch a broken unit (the check above can fail)', () => {
    const dir = temp();
    const broken = join(dir, 'sekisho.service');
    writeFileSync(
      broken,
      readFileSync(UNIT, 'utf8')
        .replace('ProtectHome=yes', 'ProtectHome=yes\nProtectEverything=yes')
        .replace(/^ExecStart=\/usr\/bin\/node/m, 'ExecStart=/nonexistent/node'),
    );
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', broken], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/Unknown key 'ProtectEverything'/);
    expect(r.stderr).toMatch(/\/nonexistent\/node is not executable/);
    expect(r.status).not.toBe(0);
  });

  it('is rated "OK" by the offline security review (exposure below 3)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for sekisho\.service: (\d+\.\d)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(3);
  });

  it('has the supervision, hardening and device settings the controller relies on', () => {
    const u = parseUnit(readFileSync(UNIT, 'utf8'));
    const svc = u.Service!;
    const one = (k: string) => {
      expect(svc[k], k).toHaveLength(1);
      return svc[k]![0]!;
    };
    expect(one('Type')).toBe('notify');
    // systemd-notify sends from its own PID (controller/sdnotify.ts): "main" would drop READY=1.
    expect(one('NotifyAccess')).toBe('all');
    const watchdog = Number(/^(\d+)s$/.exec(one('WatchdogSec'))![1]);
    expect(watchdog).toBeGreaterThanOrEqual(10);
    expect(watchdog).toBeLessThanOrEqual(60);
    expect(one('Restart')).toBe('always');
    expect(one('RestartPreventExitStatus')).toBe('2 3');
    expect(u.Unit!.StartLimitIntervalSec).toEqual(['0']);
    expect(one('User')).toBe('sekisho');
    // The build (npm run build, made by install.sh), not the TypeScript under tsx.
    expect(one('ExecStart')).toBe(
      '/usr/bin/node --max-semi-space-size=1 /opt/sekisho/bin/sekisho-dist.mjs start --config /etc/sekisho/config.yaml',
    );
    expect(one('ExecStopPost')).toBe(
      '/usr/bin/node /opt/sekisho/bin/sekisho-dist.mjs secure-outputs --config /etc/sekisho/config.yaml',
    );
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ReadWritePaths')).toBe('/var/lib/sekisho');
    expect(one('StateDirectory')).toBe('sekisho');
    expect(one('StateDirectoryMode')).toBe('0700');
    for (const k of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome']) expect(one(k), k).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('DevicePolicy')).toBe('closed');
    expect(svc.DeviceAllow).toEqual(
      expect.arrayContaining(['char-gpiochip rw', 'char-ttyAMA rw', 'char-ttyACM rw', 'char-ttyUSB rw']),
    );
    // Settings that would break the controller on a Pi: /sys read-only (sysfs GPIO), no JIT, no devices.
    for (const k of ['ProtectKernelTunables', 'MemoryDenyWriteExecute', 'PrivateDevices', 'PrivateUsers'])
      expect(svc[k], k).toBeUndefined();
    expect(u.Install!.WantedBy).toEqual(['multi-user.target']);
  });

  it('runs commands that exist: the unit’s ExecStopPost subcommand works', () => {
    const dir = temp();
    const cfg = join(dir, 'sim.yaml');
    writeFileSync(
      cfg,
      readFileSync(join(ROOT, 'config/sim.yaml'), 'utf8').replace('../var/sim', join(dir, 'data')),
    );
    const out = execFileSync(
      process.execPath,
      [join(ROOT, 'bin/sekisho.mjs'), 'secure-outputs', '--config', cfg],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toBe('simulated board: no outputs to secure\n');
    const help = execFileSync(process.execPath, [join(ROOT, 'bin/sekisho.mjs'), 'help'], {
      encoding: 'utf8',
    });
    expect(help).toMatch(/secure-outputs/);
    expect(help).toMatch(/backup --to FILE/);
    expect(help).toMatch(/restore --from FILE/);
  });
});

describe('scripts/install.sh --dry-run --root', () => {
  it('lays out the application, config, state, command and unit with tight modes, and touches nothing else', () => {
    const root = temp();
    const r = install(['--dry-run', '--root', root, '--node', process.execPath]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const p = (rel: string) => join(root, rel);

    expect(mode(p('opt/sekisho'))).toBe('755');
    expect(mode(p('opt/sekisho/bin/sekisho.mjs'))).toBe('755');
    expect(mode(p('opt/sekisho/bin/sekisho-dist.mjs'))).toBe('755');
    expect(existsSync(p('opt/sekisho/scripts/build.mjs'))).toBe(true);
    expect(existsSync(p('opt/sekisho/dist'))).toBe(false); // built there, never copied from the checkout
    expect(mode(p('opt/sekisho/package.json'))).toBe('644');
    expect(mode(p('opt/sekisho/controller/cli.ts'))).toBe('644');
    expect(existsSync(p('opt/sekisho/controller/backup/index.ts'))).toBe(true);
    expect(existsSync(p('opt/sekisho/package-lock.json'))).toBe(true);
    expect(existsSync(p('opt/sekisho/tests'))).toBe(false);
    expect(existsSync(p('opt/sekisho/node_modules'))).toBe(false); // npm ci is not run on a dry run

    expect(mode(p('etc/sekisho'))).toBe('750');
    expect(mode(p('etc/sekisho/config.yaml'))).toBe('640');
    expect(readFileSync(p('etc/sekisho/config.yaml'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'config/raspberry-pi.yaml'), 'utf8'),
    );
    expect(mode(p('var/lib/sekisho'))).toBe('700');
    expect(mode(p('var/lib/sekisho/backups'))).toBe('700');

    expect(mode(p('etc/systemd/system/sekisho.service'))).toBe('644');
    // The unit names the Node.js it was given (the repository's names /usr/bin/node).
    expect(readFileSync(p('etc/systemd/system/sekisho.service'), 'utf8')).toBe(
      readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/node ', `${process.execPath} `),
    );
    expect(mode(p('usr/local/bin/sekisho'))).toBe('755');
    const wrapper = readFileSync(p('usr/local/bin/sekisho'), 'utf8');
    expect(wrapper).toContain(
      `exec runuser -u sekisho -- env SUDO_USER="\${SUDO_USER:-}" "${process.execPath}" /opt/sekisho/bin/sekisho-dist.mjs "$@"`,
    );
    execFileSync('sh', ['-n', p('usr/local/bin/sekisho')]);

    // What it would do to the system, and did not.
    expect(r.stdout).toMatch(
      /would run: (useradd --system --user-group --groups gpio,dialout .*sekisho|usermod --append --groups gpio,dialout sekisho)/,
    );
    expect(r.stdout).toContain('npm ci --omit=dev --no-audit --no-fund');
    expect(r.stdout).toContain(
      `would run: (cd ${p('opt/sekisho.new')} && ${process.execPath} scripts/build.mjs)`,
    );
    expect(r.stdout).toContain(`would run: chown root:sekisho ${p('etc/sekisho/config.yaml')}`);
    expect(r.stdout).toContain(`would run: chown -R sekisho:sekisho ${p('var/lib/sekisho')}`);
    expect(r.stdout).toContain('would run: systemctl enable sekisho.service');
    const tree = execFileSync('find', [root, '-maxdepth', '3'], { encoding: 'utf8' }).trim().split('\n');
    expect(
      tree
        .map((f) => f.slice(root.length))
        .filter((f) => f.split('/').length === 2)
        .sort(),
    ).toEqual(['/etc', '/opt', '/usr', '/var']);
  });

  it('an update keeps the edited config and the previous application, and writes the Node path into the unit', () => {
    const root = temp();
    const bin = join(temp(), 'node-20');
    symlinkSync(process.execPath, bin);
    expect(install(['--dry-run', '--root', root]).status).toBe(0);
    writeFileSync(join(root, 'etc/sekisho/config.yaml'), '# edited by the technician\n');
    const r = install(['--dry-run', '--root', root, '--node', bin, '--no-enable']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/kept the existing config/);
    expect(r.stdout).not.toMatch(/systemctl enable/);
    expect(readFileSync(join(root, 'etc/sekisho/config.yaml'), 'utf8')).toBe('# edited by the technician\n');
    expect(existsSync(join(root, 'opt/sekisho.previous/bin/sekisho.mjs'))).toBe(true);
    expect(existsSync(join(root, 'opt/sekisho.new'))).toBe(false);
    const unit = readFileSync(join(root, 'etc/systemd/system/sekisho.service'), 'utf8');
    expect(unit).toMatch(
      new RegExp(`^ExecStart=${bin} --max-semi-space-size=1 /opt/sekisho/bin/sekisho-dist.mjs start`, 'm'),
    );
    expect(unit).toMatch(
      new RegExp(`^ExecStopPost=${bin} /opt/sekisho/bin/sekisho-dist.mjs secure-outputs`, 'm'),
    );
    expect(unit).not.toContain('/usr/bin/node');
  });

  it('refuses an old Node.js, --root without --dry-run, and unknown options', () => {
    const fake = join(temp(), 'node');
    writeFileSync(fake, '#!/bin/sh\necho 20.11.1\n');
    chmodSync(fake, 0o755);
    const root = temp();
    const old = install(['--dry-run', '--root', root, '--node', fake]);
    expect(old.status).toBe(1);
    expect(old.stderr).toMatch(/Node\.js >= 20\.20\.2 is required, .* is 20\.11\.1/);
    expect(existsSync(join(root, 'opt'))).toBe(false);

    const real = install(['--root', root]);
    expect(real.status).toBe(1);
    expect(real.stderr).toMatch(/--root is only supported with --dry-run/);
    expect(install(['--frobnicate']).status).toBe(2);
  });
});

describe('scripts/install.sh: the Node.js it is given', () => {
  // A stand-in that answers `node -p process.versions.node` with the given version.
  const fakeNode = (version: string) => {
    const bin = join(temp(), 'node');
    writeFileSync(bin, `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
    return bin;
  };

  it('warns about a Node.js past its end of life and about one it is not tested on, not about 24 or 26', () => {
    const run = (version: string) => install(['--dry-run', '--root', temp(), '--node', fakeNode(version)]);
    const eol = run('20.20.2');
    expect(eol.status).toBe(0);
    expect(eol.stdout).toMatch(/WARNING: Node\.js 20\.20\.2 reached its end of life on 2026-04-30/);
    expect(run('25.9.0').stdout).toMatch(/WARNING: Node\.js 25\.9\.0 is not a line Sekisho is tested on/);
    expect(run('22.23.5').stdout).toMatch(/security fixes until 2027-04-30/);
    for (const v of ['24.22.3', '26.12.1']) expect(run(v).stdout).not.toMatch(/WARNING|note: Node/);
    const old = run('20.20.1');
    expect(old.status).not.toBe(0);
    expect(old.stdout + old.stderr).toMatch(/Node\.js >= 20\.20\.2 is required/);
  });
});

describe('the installed sekisho command keeps the person behind sudo', () => {
  // Run for real: as root, the wrapper drops to another account (here `nobody`, standing in for the
  // service account) and the command must still see who ran sudo (issue #14, path 7).
  it.skipIf(process.getuid?.() !== 0)(
    'records cli:<sudo user>/<service user>, and no person without sudo',
    () => {
      const root = temp();
      expect(install(['--dry-run', '--root', root, '--node', process.execPath]).status).toBe(0);
      const shared = mkdtempSync('/tmp/sekisho-wrapper-');
      chmodSync(shared, 0o755);
      const probe = join(shared, 'probe.mjs');
      writeFileSync(
        probe,
        "import { userInfo } from 'node:os';\nconsole.log(JSON.stringify({ user: userInfo().username, sudo: process.env.SUDO_USER ?? '' }));\n",
      );
      chmodSync(probe, 0o644);
      const wrapper = join(shared, 'sekisho');
      writeFileSync(
        wrapper,
        readFileSync(join(root, 'usr/local/bin/sekisho'), 'utf8')
          .replace('runuser -u sekisho', 'runuser -u nobody')
          .replace('/opt/sekisho/bin/sekisho-dist.mjs', probe),
      );
      chmodSync(wrapper, 0o755);
      const run = (env: Record<string, string>) => {
        const { SUDO_USER: _, ...rest } = process.env;
        const out = JSON.parse(execFileSync(wrapper, [], { encoding: 'utf8', env: { ...rest, ...env } })) as {
          user: string;
          sudo: string;
        };
        return cliActor(out.user, { SUDO_USER: out.sudo });
      };
      const viaSudo = run({ SUDO_USER: 'tanaka' });
      expect(viaSudo).toBe('cli:tanaka/nobody');
      expect(personOf(viaSudo)).toBe('tanaka');
      const direct = run({});
      expect(direct).toBe('cli:nobody');
      expect(personOf(direct)).toBeNull();
      rmSync(shared, { recursive: true, force: true });
    },
  );
});

describe('scripts/install.sh: the dashboard certificate', () => {
  const fingerprintIn = (stdout: string) =>
    /dashboard certificate SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(stdout)?.[1];

  it('makes a self-signed EC P-256 certificate for this machine, prints its fingerprint, and keeps it on update', () => {
    const root = temp();
    const r = install(['--dry-run', '--root', root, '--node', process.execPath]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const crt = join(root, 'etc/sekisho/dashboard.crt');
    const key = join(root, 'etc/sekisho/dashboard.key');
    expect(mode(crt)).toBe('644');
    expect(mode(key)).toBe('600');
    const info = certInfo(readFileSync(crt));
    expect(fingerprintIn(r.stdout)).toBe(info.fingerprint256);
    expect(info.selfSigned).toBe(true);
    const short = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim().toLowerCase();
    expect(info.names).toEqual(
      expect.arrayContaining([short, `${short}.local`, 'localhost', '127.0.0.1', '::1']),
    );
    for (const a of execFileSync('hostname', ['-I'], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean))
      expect(info.names).toContain(canonicalName(a));
    const years = (info.validTo - info.validFrom) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(4.9);
    expect(years).toBeLessThan(5.1);
    const pub = new X509Certificate(readFileSync(crt)).publicKey;
    expect([pub.asymmetricKeyType, pub.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'prime256v1']);
    expect(r.stdout).toContain(`would run: chown sekisho:sekisho ${key}`);
    expect(r.stdout).toContain(`would run: chown root:sekisho ${crt}`);
    // The key and certificate belong together: the controller would start with them.
    expect(new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(key)))).toBe(
      true,
    );

    const again = install(['--dry-run', '--root', root, '--node', process.execPath]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`kept the existing dashboard certificate ${crt}`);
    expect(fingerprintIn(again.stdout)).toBe(info.fingerprint256);
  });

  it('installs a given certificate and key instead, and refuses a key that is not the certificate’s', () => {
    const own = temp();
    const made = (name: string) => {
      const cert = join(own, `${name}.crt`);
      const key = join(own, `${name}.key`);
      execFileSync('bash', [
        join(ROOT, 'scripts/make-cert.sh'),
        '--cert',
        cert,
        '--key',
        key,
        '--name',
        'sekisho.city.example.jp',
      ]);
      return { cert, key };
    };
    const a = made('a');
    const b = made('b');
    const root = temp();
    const r = install([
      '--dry-run',
      '--root',
      root,
      '--node',
      process.execPath,
      '--cert',
      a.cert,
      '--key',
      a.key,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(root, 'etc/sekisho/dashboard.crt'), 'utf8')).toBe(readFileSync(a.cert, 'utf8'));
    expect(mode(join(root, 'etc/sekisho/dashboard.key'))).toBe('600');
    expect(fingerprintIn(r.stdout)).toBe(certInfo(readFileSync(a.cert)).fingerprint256);

    const wrong = install([
      '--dry-run',
      '--root',
      temp(),
      '--node',
      process.execPath,
      '--cert',
      a.cert,
      '--key',
      b.key,
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`${b.key} is not the key of ${a.cert}`);
    expect(install(['--dry-run', '--root', temp(), '--cert', a.cert]).stderr).toMatch(
      /--cert and --key go together/,
    );
  });
});
