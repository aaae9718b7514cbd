import { chmodSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  credentialHash,
  HMAC_KEY_FILE,
  loadOrCreateDeviceSecrets,
  maskCredential,
  PUBLIC_KEY_FILE,
  publicKeyId,
  SIGNING_KEY_FILE,
} from '../../controller/journal/index.js';
import { tempDir } from './helpers.js';

describe('device secrets', () => {
  it('are created at first start with mode 0600 and loaded unchanged afterwards', () => {
    const dir = join(tempDir(), 'secrets');
    const first = loadOrCreateDeviceSecrets(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, HMAC_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(first.hmacKey).toHaveLength(32);
    expect(first.signingKey.asymmetricKeyType).toBe('ed25519');
    expect(first.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(first.keyId).toBe(publicKeyId(first.publicKey));
    expect(readFileSync(join(dir, PUBLIC_KEY_FILE), 'utf8')).toBe(first.publicKeyPem);

    const again = loadOrCreateDeviceSecrets(dir);
    expect(again.hmacKey.equals(first.hmacKey)).toBe(true);
    expect(again.keyId).toBe(first.keyId);
    expect(again.publicKeyPem).toBe(first.publicKeyPem);

    const other = loadOrCreateDeviceSecrets(join(tempDir(), 'other'));
    expect(other.hmacKey.equals(first.hmacKey)).toBe(false);
    expect(other.keyId).not.toBe(first.keyId);
  });

  it.each([HMAC_KEY_FILE, SIGNING_KEY_FILE])('refuse to start when %s is group or world readable', (name) => {
    const dir = tempDir();
    loadOrCreateDeviceSecrets(dir);
    chmodSync(join(dir, name), 0o644);
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(
      /readable by group or others \(mode 0644\).*chmod 600/,
    );
    chmodSync(join(dir, name), 0o640);
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(/readable by group or others/);
    chmodSync(join(dir, name), 0o600);
    expect(() => loadOrCreateDeviceSecrets(dir)).not.toThrow();
  });

  it('refuse malformed keys instead of replacing them', () => {
    const dir = tempDir();
    loadOrCreateDeviceSecrets(dir);
    const hmac = join(dir, HMAC_KEY_FILE);
    const original = readFileSync(hmac, 'utf8');
    writeFileSync(hmac, 'not hex at all\n', { mode: 0o600 });
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(/malformed device HMAC key/);
    expect(readFileSync(hmac, 'utf8')).toBe('not hex at all\n');
    writeFileSync(hmac, original);

    const signing = join(dir, SIGNING_KEY_FILE);
    writeFileSync(signing, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(/malformed device signing key/);
  });

  it('refuse an incomplete set (never re-create the HMAC key alone) and a symlinked key', () => {
    const dir = tempDir();
    loadOrCreateDeviceSecrets(dir);
    const hmac = join(dir, HMAC_KEY_FILE);
    const saved = readFileSync(hmac);
    unlinkSync(hmac);
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(/incomplete.*device-hmac.key is missing/);
    const elsewhere = join(tempDir(), 'key');
    writeFileSync(elsewhere, saved, { mode: 0o600 });
    symlinkSync(elsewhere, hmac);
    expect(() => loadOrCreateDeviceSecrets(dir)).toThrow(/regular file/);
  });
});

describe('credential hashing and masking', () => {
  it('credentialHash is stable, keyed and differs per credential', () => {
    const key = Buffer.alloc(32, 1);
    const h = credentialHash(key, '0123ABCDEF');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(credentialHash(key, '0123ABCDEF')).toBe(h);
    expect(credentialHash(Buffer.alloc(32, 2), '0123ABCDEF')).not.toBe(h);
    expect(credentialHash(key, '0123ABCDEE')).not.toBe(h);
  });

  it('credentialHash matches Web Crypto HMAC-SHA-256', async () => {
    const key = Buffer.alloc(32, 9);
    const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const mac = Buffer.from(
      await crypto.subtle.sign('HMAC', cryptoKey, new TextEncoder().encode('26:12345')),
    ).toString('hex');
    expect(credentialHash(key, '26:12345')).toBe(mac);
  });

  it('maskCredential shows only the last 4 characters, and nothing of short credentials', () => {
    expect(maskCredential('0123ABCDEF')).toBe('••••CDEF');
    expect(maskCredential('12345678')).toBe('••••5678');
    expect(maskCredential('1234567')).toBe('••••');
    expect(maskCredential('AB')).toBe('••••');
    expect(maskCredential('')).toBe('••••');
  });
});
