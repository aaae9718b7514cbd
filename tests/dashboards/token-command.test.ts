/**
 * `sekisho token …` through the command's own entry (`main()` of controller/cli.ts, in this
 * process; it opens the storage on its own connection, as the command on the device does) against
 * a running dashboard on the same database file: the secret printed once, `list` without it,
 * rotation and revocation taking effect at once on the running server, expiry, refusals. The
 * command as a child process beside `sekisho start`, and the simulation token's file at start, are
 * in tests/ops/token-cli.test.ts.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TokenStore } from '../../controller/accounts/tokens.js';
import { main } from '../../controller/cli.js';
import { writeConfig } from '../helpers/controller.js';
import { sleep, sqlite } from '../helpers/util.js';
import { makeDash, type TestDash } from './helpers.js';

const SECRET = /^sks_[a-z][a-z0-9-]{1,31}_[A-Za-z0-9_-]{43}$/;

interface Listed {
  name: string;
  scopes: string[];
  status: string;
  createdAt: number;
  createdBy: string;
  rotatedAt: number | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  lastUsedFrom: string | null;
}

/** Runs `sekisho …` in this process, capturing what it writes. */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string) => {
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('sekisho token', () => {
  let d: TestDash;
  let cfg: string;
  const token = (...args: string[]) => run(['token', ...args, '--config', cfg]);
  const list = async () => JSON.parse((await token('list', '--json')).stdout) as Listed[];
  const call = async (secret: string, url: string) =>
    (await d.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } })).statusCode;

  beforeAll(async () => {
    d = await makeDash({ accounts: false });
    cfg = join(d.dir, 'config.yaml');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('create prints the secret once, alone on stdout; the running dashboard accepts it at once', async () => {
    const r = await token('create', 'prometheus', '--scope', 'metrics');
    expect(r.status, r.stderr).toBe(0);
    const secret = r.stdout.trim();
    expect(r.stdout).toBe(`${secret}\n`);
    expect(secret).toMatch(SECRET);
    expect(r.stderr).toBe(
      'created token prometheus (scopes metrics; no expiry); the secret is shown only now\n',
    );
    expect(await call(secret, '/metrics')).toBe(200);
    expect(await call(secret, '/api/status')).toBe(403);

    const listed = (await list()).find((t) => t.name === 'prometheus')!;
    expect(listed).toMatchObject({ scopes: ['metrics'], status: 'active', expiresAt: null, rotatedAt: null });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(listed.lastUsedFrom).toBe('127.0.0.1');
    // Who made it is the CLI's actor; neither list, the table nor the journal holds the secret.
    expect(listed.createdBy).toMatch(new RegExp(`^cli:(.*/)?${userInfo().username}$`));
    const random = secret.slice(-43);
    expect((await token('list')).stdout).not.toContain(random);
    expect((await token('list', '--json')).stdout).not.toContain(random);
    const db = join(d.dir, 'data', 'journal.db');
    expect(sqlite(db, "SELECT count(*) FROM api_tokens WHERE name = 'prometheus';").trim()).toBe('1');
    expect(sqlite(db, `SELECT count(*) FROM journal WHERE instr(bytes, '${random}') > 0;`).trim()).toBe('0');
    expect(
      sqlite(db, `SELECT count(*) FROM api_tokens WHERE instr(secret_hash, '${random}') > 0;`).trim(),
    ).toBe('0');
    expect(
      sqlite(db, "SELECT actor FROM journal WHERE type = 'token_created' ORDER BY seq DESC LIMIT 1;").trim(),
    ).toBe(listed.createdBy);
  });

  it('create --json gives the token with its secret, once', async () => {
    const r = await token('create', 'scripted', '--scope', 'read', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ name: 'scripted', scopes: ['read'], status: 'active', expiresAt: null });
    expect(j.token).toMatch(SECRET);
    expect(await call(j.token, '/api/log')).toBe(200);
  });

  it('several scopes, comma-separated or repeated; an expiry in days or as a date', async () => {
    const a = await token('create', 'grafana', '--scope', 'read,metrics', '--expires', '30d');
    expect(a.status, a.stderr).toBe(0);
    const b = await token('create', 'walker', '--scope', 'sim', '--scope', 'read', '--expires', '2099-04-01');
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toContain('expires 2099-04-01');
    const l = await list();
    const g = l.find((t) => t.name === 'grafana')!;
    expect(g.scopes).toEqual(['metrics', 'read']);
    expect(g.expiresAt! - g.createdAt).toBeGreaterThan(29.9 * 86_400_000);
    expect(g.expiresAt! - g.createdAt).toBeLessThan(30.1 * 86_400_000);
    expect(l.find((t) => t.name === 'walker')).toMatchObject({ scopes: ['read', 'sim'] });
    expect((await token('list')).stdout).toMatch(
      /walker\s+read,sim\s+active\s+created .* expires 2099-04-01/,
    );
  });

  it('refuses bad input with a clear message and changes nothing', async () => {
    const before = (await list()).length;
    const head = d.controller.journal.head().seq;
    const cases: [string[], number, RegExp][] = [
      [['create', 'x1'], 2, /missing --scope/],
      [['create', 'x1', '--scope', 'admin'], 2, /unknown scope "admin"/],
      [['create', 'x1', '--scope', ','], 2, /missing --scope/],
      [['create', 'Bad_Name', '--scope', 'read'], 2, /lower-case/],
      [['create', 'simulation', '--scope', 'read'], 2, /reserved/],
      [['create', 'api', '--scope', 'read'], 2, /reserved/],
      [['create', 'x1', '--scope', 'read', '--expires', '2001-01-01'], 2, /--expires: .*not in the future/],
      [['create', 'x1', '--scope', 'read', '--expires', 'soon'], 2, /--expires/],
      [['create', 'x1', 'x2', '--scope', 'read'], 2, /unexpected argument "x2"/],
      [['create', 'prometheus', '--scope', 'read'], 1, /exists already/],
      [['rotate', 'nobody'], 2, /no token "nobody"/],
      [['revoke'], 2, /usage: sekisho token revoke NAME/],
      [['frobnicate'], 2, /unknown token command "frobnicate"/],
    ];
    for (const [args, status, message] of cases) {
      const r = await token(...args);
      expect(r.status, args.join(' ')).toBe(status);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect((await list()).length).toBe(before);
    expect(d.controller.journal.head().seq).toBe(head);
  });

  it('a token with the sim scope cannot be made for a real board', async () => {
    const config = parse(readFileSync(cfg, 'utf8'));
    config.board = { kind: 'rpi', chipLabels: ['pinctrl-rp1'] };
    for (const r of config.readers) r.path = `/dev/ttyAMA-${r.id}`;
    mkdirSync(join(d.dir, 'rpi'));
    const rpi = writeConfig(join(d.dir, 'rpi'), config);
    const r = await run(['token', 'create', 'walk2', '--scope', 'read,sim', '--config', rpi]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--scope sim: the simulation routes exist only when board.kind is sim');
    expect((await list()).some((t) => t.name === 'walk2')).toBe(false);
  });

  it('rotate: a new secret, the old one refused by the running dashboard at once', async () => {
    const created = (await token('create', 'rotating', '--scope', 'read')).stdout.trim();
    expect(await call(created, '/api/status')).toBe(200);
    const r = await token('rotate', 'rotating', '--expires', '7d');
    expect(r.status, r.stderr).toBe(0);
    const rotated = r.stdout.trim();
    expect(rotated).toMatch(SECRET);
    expect(rotated).not.toBe(created);
    expect(r.stderr).toMatch(/^rotated token rotating \(scopes read; expires /);
    expect(await call(created, '/api/status')).toBe(401);
    expect(await call(rotated, '/api/status')).toBe(200);
    const t = (await list()).find((x) => x.name === 'rotating')!;
    expect(t.rotatedAt).not.toBeNull();
    expect(t.expiresAt).not.toBeNull();
  });

  it('revoke: the running dashboard refuses the token at once; the journal keeps who and why', async () => {
    const secret = (await token('create', 'leaving', '--scope', 'read')).stdout.trim();
    expect(await call(secret, '/api/status')).toBe(200);
    const r = await token('revoke', 'leaving', '--reason', 'contract ended');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('revoked token leaving: it no longer works\n');
    expect(await call(secret, '/api/status')).toBe(401);
    expect((await list()).some((t) => t.name === 'leaving')).toBe(false);
    const row = d.controller.journal.query({ types: ['token_revoked'], limit: 1 })[0]!;
    expect(row.actor).toMatch(/^cli:/);
    expect(row.data).toMatchObject({ name: 'leaving', reason: 'contract ended' });
  });

  it('list shows an expired token as expired, and never a secret', async () => {
    const now = Date.now();
    new TokenStore(d.controller.db, d.controller.journal).create(
      { name: 'brief', scopes: ['read'], expiresAt: now + 5 },
      'test',
      now,
    );
    await sleep(20);
    const r = await token('list');
    expect(r.stdout).toMatch(/^brief\s+read\s+EXPIRED\s+created .* expires /m);
    expect(r.stdout).toMatch(/^metrics\s+metrics\s+active\s+created .* never expires/m);
    expect(r.stdout).not.toContain('sks_');
    expect((await list()).find((t) => t.name === 'brief')!.status).toBe('expired');
  });
});
