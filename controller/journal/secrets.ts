/**
 * The device's secrets: the HMAC key that turns badge credentials into keyed hashes, and the
 * Ed25519 key that signs journal checkpoints. Both are created at first start (mode 0600) and
 * checked at every start: a secret file that others may read, or that does not parse, stops the
 * controller with a clear error instead of being silently replaced.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createSecretFile,
  modeText,
  readSecretFile,
  type SecretFileProblem,
  secretFileMessage,
} from '../secret-files.js';

export const HMAC_KEY_FILE = 'device-hmac.key';
export const SIGNING_KEY_FILE = 'device-signing.pem';
/** Not secret: the public half, written beside the keys for handing to off-device verifiers. */
export const PUBLIC_KEY_FILE = 'device-public.pem';

export interface DeviceSecrets {
  /** 32 random bytes for credentialHash(). */
  hmacKey: Buffer;
  /** Ed25519 private key for signing checkpoints. */
  signingKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of publicKey. */
  publicKeyPem: string;
  /** First 16 hex digits of SHA-256 over the public key's SPKI DER. */
  keyId: string;
}

/**
 * Loads the device secrets from `dir`, creating both at first start. Throws if a secret file is
 * readable by group or others, is not a regular file, is malformed, or if only one of the two
 * exists (a lost HMAC key would silently invalidate every badge, so it is never re-created alone).
 */
export function loadOrCreateDeviceSecrets(dir: string): DeviceSecrets {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const hmacPath = join(root, HMAC_KEY_FILE);
  const signingPath = join(root, SIGNING_KEY_FILE);
  const hasHmac = exists(hmacPath);
  const hasSigning = exists(signingPath);

  if (!hasHmac && !hasSigning) {
    const { privateKey } = generateKeyPairSync('ed25519');
    createSecretFile(signingPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    createSecretFile(hmacPath, `${randomBytes(32).toString('hex')}\n`);
  } else if (!hasHmac || !hasSigning) {
    const [present, missing] = hasHmac ? [hmacPath, signingPath] : [signingPath, hmacPath];
    throw new Error(
      `device secrets incomplete: ${present} exists but ${missing} is missing; ` +
        'restore it from the backup (or remove both files to start with new keys: every badge must then be enrolled again)',
    );
  }

  const secrets = readSecrets(hmacPath, signingPath);
  writePublicKeyFile(join(root, PUBLIC_KEY_FILE), secrets.publicKeyPem);
  return secrets;
}

/**
 * Loads the existing device secrets from `dir` without creating or writing anything (for read-only
 * commands such as `sekisho verify`). Throws if either file is missing or fails the checks above.
 */
export function loadDeviceSecrets(dir: string): DeviceSecrets {
  const root = resolve(dir);
  const hmacPath = join(root, HMAC_KEY_FILE);
  const signingPath = join(root, SIGNING_KEY_FILE);
  for (const path of [hmacPath, signingPath])
    if (!exists(path)) throw new Error(`device secret ${path} is missing; restore it from the backup`);
  return readSecrets(hmacPath, signingPath);
}

function readSecrets(hmacPath: string, signingPath: string): DeviceSecrets {
  const hmacKey = parseHmacKey(hmacPath, readDeviceSecret(hmacPath));
  const signingKey = parseSigningKey(signingPath, readDeviceSecret(signingPath));
  const publicKey = createPublicKey(signingKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { hmacKey, signingKey, publicKey, publicKeyPem, keyId: publicKeyId(publicKey) };
}

/** A short fingerprint of an Ed25519 public key: 16 hex digits of SHA-256 over its SPKI DER. */
export function publicKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * The full fingerprint of a public key, for comparing with a copy kept off the device: `SHA256:` and
 * the 64 hex digits of SHA-256 over its SPKI DER, in groups of 4 (its first 16 digits are the key id).
 */
export function publicKeyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const hex = createHash('sha256').update(der).digest('hex');
  return `SHA256:${hex.match(/.{4}/g)!.join(' ')}`;
}

/** The keyed hash a badge credential is stored and looked up by: HMAC-SHA-256, hex. */
export function credentialHash(hmacKey: Buffer, credential: string): string {
  return createHmac('sha256', hmacKey).update(credential, 'utf8').digest('hex');
}

/**
 * The only form of a credential shown to people: '••••' and its last 4 characters. Credentials
 * shorter than 8 characters are fully masked, so the suffix never gives away most of a number.
 */
export function maskCredential(credential: string): string {
  const chars = Array.from(credential);
  return chars.length < 8 ? '••••' : `••••${chars.slice(-4).join('')}`;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A device secret: a regular file (a link is refused, not followed) that only its owner may read. */
function readDeviceSecret(path: string): string {
  return readSecretFile(path, { noFollow: true, error: deviceSecretError });
}

function deviceSecretError(problem: SecretFileProblem, path: string): Error {
  switch (problem.kind) {
    case 'not_a_file':
      return new Error(`${path}: a device secret must be a regular file (not a link or folder)`);
    case 'open_to_others':
      return new Error(
        `${path}: device secret is readable by group or others (mode ${modeText(problem.mode, true)}); refusing to start. ` +
          `Check who could have read it, then run: chmod 600 ${path}`,
      );
    case 'unreadable':
      return new Error(`${path}: device secret cannot be read (${problem.code})`);
    default:
      return new Error(`${path}: device secret: ${secretFileMessage(problem, path)}; refusing to start`);
  }
}

function parseHmacKey(path: string, text: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    throw new Error(
      `${path}: malformed device HMAC key (expected 64 hex digits); restore it from the backup`,
    );
  }
  return Buffer.from(hex, 'hex');
}

function parseSigningKey(path: string, text: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new Error(
      `${path}: malformed device signing key (${(err as Error).message}); restore it from the backup`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${path}: device signing key must be Ed25519, found ${key.asymmetricKeyType}`);
  }
  return key;
}

function writePublicKeyFile(path: string, pem: string): void {
  try {
    if (readFileSync(path, 'utf8') === pem) return;
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  createSecretFile(path, pem, 0o644);
}
