/**
 * `sekisho witness` refuses what it cannot use before it connects anywhere, with a clear message
 * and a documented exit code: a missing flag, a key that is no Ed25519 public key, a password
 * that would travel in clear text, the controller's config given as its own, a history of another
 * controller, a history already in use. Run in-process through the CLI's dispatcher.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../controller/cli.js';
import { publicKeyId } from '../../controller/journal/index.js';
import { HISTORY_FORMAT, ZERO_HASH } from '../../controller/witness/history.js';
import { HistoryWriter } from '../../controller/witness/witness.js';
import { tempDir } from '../helpers/util.js';

describe('sekisho witness: refusals before it starts', () => {
  const dir = tempDir('sekisho-witness-cli-');
  const keys = generateKeyPairSync('ed25519');
  const pem = join(dir, 'pinned.pem');
  writeFileSync(pem, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const history = join(dir, 'h.jsonl');
  let err = '';
  let out = '';
  beforeEach(() => {
    err = '';
    out = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err += String(s);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const args = (extra: string[] = []) => [
    'witness',
    '--broker',
    'mqtt://127.0.0.1:1',
    '--controller',
    'c1',
    '--public-key',
    pem,
    '--history',
    history,
    ...extra,
  ];

  it('a missing flag or a bad value is a usage error (exit 2)', async () => {
    expect(await main(['witness', '--history', history])).toBe(2);
    expect(err).toContain('missing --controller');
    expect(await main(args(['--controller', 'a b']))).toBe(2);
    expect(err).toContain('--controller:');
    const rsa = join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(await main(args(['--public-key', rsa]))).toBe(2);
    expect(err).toContain('the device signs with Ed25519');
  });

  it('refuses a password over mqtt:// to another host, and credentials in the URL', async () => {
    const pw = join(dir, 'password');
    writeFileSync(pw, 'secret-password\n', { mode: 0o600 });
    expect(
      await main(args(['--broker', 'mqtt://broker.example:1883', '--username', 'w', '--password-file', pw])),
    ).toBe(2);
    expect(err).toContain('refusing to send the broker password in clear text to broker.example');
    expect(err).not.toContain('secret-password');
    expect(await main(args(['--broker', 'mqtt://w:pw@127.0.0.1:1883']))).toBe(2);
    expect(err).toContain('no credentials in the URL');
  });

  it("refuses the controller's config as its own, and takes its own YAML file", async () => {
    const ctl = join(dir, 'config.yaml');
    writeFileSync(ctl, 'site: {id: s, name: S}\nstorage: {path: data}\ndoors: []\n');
    expect(await main(['witness', '--config', ctl, '--history', history])).toBe(2);
    expect(err).toContain("is a controller's config");
    const own = join(dir, 'witness.yaml');
    writeFileSync(own, 'controller: c1\nhistory: h.jsonl\nbrokr: mqtt://x\n');
    expect(await main(['witness', '--config', own])).toBe(2);
    expect(err).toMatch(/brokr/);
  });

  it('refuses the history of another controller (exit 3) and a missing folder (exit 2)', async () => {
    const other = join(dir, 'other.jsonl');
    const w = new HistoryWriter(other, 0, ZERO_HASH, (e) => {
      throw e;
    });
    w.append(
      {
        kind: 'history',
        format: HISTORY_FORMAT,
        controller: 'c2',
        topic: 'sekisho/c2',
        keyId: publicKeyId(keys.publicKey),
      },
      1,
    );
    w.close();
    expect(await main(args(['--history', other]))).toBe(3);
    expect(err).toContain('is the history of controller c2');
    expect(await main(args(['--history', join(dir, 'nope', 'h.jsonl')]))).toBe(2);
    expect(err).toContain('does not exist');
  });

  it('--check summarises an intact history and refuses a broken one (exit 3)', async () => {
    const file = join(dir, 'check.jsonl');
    const w = new HistoryWriter(file, 0, ZERO_HASH, (e) => {
      throw e;
    });
    w.append(
      {
        kind: 'history',
        format: HISTORY_FORMAT,
        controller: 'c1',
        topic: 'sekisho/c1',
        keyId: publicKeyId(keys.publicKey),
      },
      1,
    );
    w.append({ kind: 'event', seq: 1, hash: '1'.repeat(64), prevHash: ZERO_HASH, at: 1, type: 'access' }, 2);
    w.close();
    expect(await main(['witness', '--check', '--history', file, '--public-key', pem])).toBe(0);
    expect(out).toContain('witness history intact: 2 lines');
    writeFileSync(file, '{"n":1}\n');
    expect(await main(['witness', '--check', '--history', file])).toBe(3);
    expect(out).toContain('WITNESS HISTORY NOT INTACT');
  });
});
