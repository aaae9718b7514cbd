/**
 * OSDP Secure Channel cryptography (SIA OSDP v2.2, Annex D): session keys, the handshake's
 * cryptograms, the initial R-MAC, the MAC chain and the data encryption. Pure: randoms and keys are
 * passed in. Checked against the standard's Annex E examples (tests/firmware-bridge/osdp-sc.test.ts).
 *
 * - S-ENC / S-MAC1 / S-MAC2 = AES-128-ECB(SCBK, 01 82|01|02 ‖ RND.A[0..5] ‖ 00×8).
 * - Client cryptogram (from the reader, osdp_CCRYPT) = AES(S-ENC, RND.A ‖ RND.B); server cryptogram
 *   (from the panel, osdp_SCRYPT) = AES(S-ENC, RND.B ‖ RND.A); R-MAC-I = AES(S-MAC2, AES(S-MAC1,
 *   server cryptogram)).
 * - Every message after the handshake carries the first 4 bytes of a CBC-MAC over the packet from
 *   SOM to the byte before the MAC (padded 80 00… only if not a whole number of blocks): all blocks
 *   but the last with S-MAC1, the last with S-MAC2, the chain starting from the last MAC of the
 *   other direction (a command's from the last reply's, a reply's from its command's; the first
 *   command's from R-MAC-I). So a frame replayed, dropped or reordered fails the next MAC.
 * - DATA of SCS_17/SCS_18 is AES-128-CBC with S-ENC, always padded 80 00…, the IV the ones'
 *   complement of that same other-direction MAC.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';

/** SCBK-D, the install key every reader ships with. It is public: use it only to install a key. */
export const SCBK_D = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

export interface SessionKeys {
  sEnc: Buffer;
  sMac1: Buffer;
  sMac2: Buffer;
}

export class SecureChannelError extends Error {
  constructor(
    readonly code: 'bad_length' | 'bad_padding',
    message: string,
  ) {
    super(message);
    this.name = 'SecureChannelError';
  }
}

function need(buf: Buffer, len: number, what: string): void {
  if (buf.length !== len)
    throw new SecureChannelError('bad_length', `${what} must be ${len} bytes, not ${buf.length}`);
}

/** One AES-128 block, ECB. */
function aesBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function cbc(key: Buffer, iv: Buffer, data: Buffer, decrypt = false): Buffer {
  const c = decrypt ? createDecipheriv('aes-128-cbc', key, iv) : createCipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

const complement = (b: Buffer) => Buffer.from(b.map((x) => ~x & 0xff));

export function deriveSessionKeys(scbk: Buffer, rndA: Buffer): SessionKeys {
  need(scbk, 16, 'the SCBK');
  need(rndA, 8, 'RND.A');
  const template = (second: number) => {
    const t = Buffer.alloc(16);
    t[0] = 0x01;
    t[1] = second;
    rndA.copy(t, 2, 0, 6);
    return aesBlock(scbk, t);
  };
  return { sEnc: template(0x82), sMac1: template(0x01), sMac2: template(0x02) };
}

/** What the reader sends in osdp_CCRYPT to prove it holds the SCBK. */
export function clientCryptogram(keys: SessionKeys, rndA: Buffer, rndB: Buffer): Buffer {
  return aesBlock(keys.sEnc, Buffer.concat([rndA, rndB]));
}

/** What the panel sends in osdp_SCRYPT to prove it holds the SCBK. */
export function serverCryptogram(keys: SessionKeys, rndA: Buffer, rndB: Buffer): Buffer {
  return aesBlock(keys.sEnc, Buffer.concat([rndB, rndA]));
}

export function initialRmac(keys: SessionKeys, serverCrypt: Buffer): Buffer {
  return aesBlock(keys.sMac2, aesBlock(keys.sMac1, serverCrypt));
}

/** A reader's SCBK diversified from a master key by its cUID: AES(MK, cUID ‖ ~cUID). */
export function scbkFromMasterKey(masterKey: Buffer, cuid: Buffer): Buffer {
  need(masterKey, 16, 'the master key');
  need(cuid, 8, 'the cUID');
  return aesBlock(masterKey, Buffer.concat([cuid, complement(cuid)]));
}

/** Constant-time comparison of two equal-length values. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The full 16-byte CBC-MAC of `message` from `icv` (only its first 4 bytes go on the line). */
export function cbcMac(keys: SessionKeys, icv: Buffer, message: Buffer): Buffer {
  const rem = message.length % 16;
  const padded =
    rem === 0 && message.length > 0
      ? message
      : Buffer.concat([message, Buffer.from([0x80]), Buffer.alloc(rem === 0 ? 15 : 15 - rem)]);
  let iv = icv;
  if (padded.length > 16) {
    const head = cbc(keys.sMac1, iv, padded.subarray(0, padded.length - 16));
    iv = head.subarray(head.length - 16);
  }
  return cbc(keys.sMac2, iv, padded.subarray(padded.length - 16));
}

/** AES-CBC of DATA, always padded 80 00…. */
export function encryptData(keys: SessionKeys, otherMac: Buffer, data: Buffer): Buffer {
  const pad = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.from([0x80]), Buffer.alloc(pad - 1)]);
  return cbc(keys.sEnc, complement(otherMac), padded);
}

export function decryptData(keys: SessionKeys, otherMac: Buffer, cipher: Buffer): Buffer {
  if (cipher.length === 0 || cipher.length % 16 !== 0)
    throw new SecureChannelError(
      'bad_length',
      `encrypted data of ${cipher.length} bytes is not whole AES blocks`,
    );
  const plain = cbc(keys.sEnc, complement(otherMac), cipher, true);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0x00) end--;
  if (end < 0 || plain[end] !== 0x80 || plain.length - end > 16)
    throw new SecureChannelError('bad_padding', 'the decrypted data does not end in 80 00… padding');
  return plain.subarray(0, end);
}

/**
 * The two MAC chains of one established session, the same on both ends: a command's MAC starts
 * from the last reply MAC (R-MAC-I at first), a reply's from its command's MAC. A side seals what it
 * sends and opens what it receives; a failed check leaves the chain as it was (the session must
 * then end: the caller drops it and handshakes again).
 */
export class SecureSession {
  readonly #keys: SessionKeys;
  #cmac: Buffer;
  #rmac: Buffer;

  constructor(keys: SessionKeys, rmacI: Buffer) {
    need(rmacI, 16, 'R-MAC-I');
    this.#keys = keys;
    this.#rmac = rmacI;
    this.#cmac = Buffer.alloc(16);
  }

  /** DATA of a command to send, encrypted (IV from the last reply MAC). */
  encryptCommand(data: Buffer): Buffer {
    return encryptData(this.#keys, this.#rmac, data);
  }

  /** DATA of a reply to send, encrypted (IV from its command's MAC). */
  encryptReply(data: Buffer): Buffer {
    return encryptData(this.#keys, this.#cmac, data);
  }

  decryptCommand(cipher: Buffer): Buffer {
    return decryptData(this.#keys, this.#rmac, cipher);
  }

  decryptReply(cipher: Buffer): Buffer {
    return decryptData(this.#keys, this.#cmac, cipher);
  }

  /** The 4 MAC bytes of a command packet (SOM … last DATA byte); advances the chain. */
  macCommand(packet: Buffer): Buffer {
    this.#cmac = cbcMac(this.#keys, this.#rmac, packet);
    return this.#cmac.subarray(0, 4);
  }

  macReply(packet: Buffer): Buffer {
    this.#rmac = cbcMac(this.#keys, this.#cmac, packet);
    return this.#rmac.subarray(0, 4);
  }

  /** Checks a received command's MAC; advances the chain only if it holds. */
  openCommand(packet: Buffer, mac: Buffer): boolean {
    const full = cbcMac(this.#keys, this.#rmac, packet);
    if (!sameBytes(full.subarray(0, 4), mac)) return false;
    this.#cmac = full;
    return true;
  }

  openReply(packet: Buffer, mac: Buffer): boolean {
    const full = cbcMac(this.#keys, this.#cmac, packet);
    if (!sameBytes(full.subarray(0, 4), mac)) return false;
    this.#rmac = full;
    return true;
  }
}
