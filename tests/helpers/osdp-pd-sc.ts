/**
 * The reader's (PD's) side of the OSDP Secure Channel, for the reader simulator: written apart from
 * firmware-bridge/osdp/sc-crypto.ts, block by block with AES-ECB and explicit XORs, so that the two
 * check each other (a misreading in one would show as a failed MAC or cryptogram between them).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

const ecb = (key: Buffer, block: Buffer, decrypt = false): Buffer => {
  const c = decrypt ? createDecipheriv('aes-128-ecb', key, null) : createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
};
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!));
const not = (a: Buffer) => Buffer.from(a.map((x) => x ^ 0xff));

export class PdSecureChannel {
  sEnc: Buffer = Buffer.alloc(16);
  sMac1: Buffer = Buffer.alloc(16);
  sMac2: Buffer = Buffer.alloc(16);
  /** Last command MAC received and last reply MAC sent (16 bytes each). */
  cMac: Buffer = Buffer.alloc(16);
  rMac: Buffer = Buffer.alloc(16);
  rndA: Buffer = Buffer.alloc(8);
  rndB: Buffer = Buffer.alloc(8);
  established = false;

  constructor(readonly scbk: Buffer) {}

  /** osdp_CHLNG received: derive the keys, return the client cryptogram for osdp_CCRYPT. */
  challenge(rndA: Buffer, rndB: Buffer): Buffer {
    this.rndA = rndA;
    this.rndB = rndB;
    this.established = false;
    const derive = (b1: number) => {
      const t = Buffer.alloc(16);
      t[0] = 1;
      t[1] = b1;
      for (let i = 0; i < 6; i++) t[2 + i] = rndA[i]!;
      return ecb(this.scbk, t);
    };
    this.sEnc = derive(0x82);
    this.sMac1 = derive(0x01);
    this.sMac2 = derive(0x02);
    return ecb(this.sEnc, Buffer.concat([rndA, rndB]));
  }

  /** osdp_SCRYPT received: the R-MAC-I for osdp_RMAC_I, or null if the panel's cryptogram is wrong. */
  serverCryptogram(cryptogram: Buffer): Buffer | null {
    const expected = ecb(this.sEnc, Buffer.concat([this.rndB, this.rndA]));
    if (!expected.equals(cryptogram)) return null;
    this.rMac = ecb(this.sMac2, ecb(this.sMac1, cryptogram));
    this.established = true;
    return this.rMac;
  }

  #mac(message: Buffer, icv: Buffer): Buffer {
    const blocks: Buffer[] = [];
    for (let i = 0; i < message.length; i += 16) blocks.push(Buffer.from(message.subarray(i, i + 16)));
    if (blocks.length === 0 || blocks[blocks.length - 1]!.length < 16) {
      const last = blocks.pop() ?? Buffer.alloc(0);
      const padded = Buffer.alloc(16);
      last.copy(padded);
      padded[last.length] = 0x80;
      blocks.push(padded);
    }
    let state = icv;
    blocks.forEach((b, i) => {
      state = ecb(i === blocks.length - 1 ? this.sMac2 : this.sMac1, xor(state, b));
    });
    return state;
  }

  /** A command's MAC check; true and the chain advanced if it holds. */
  checkCommand(packet: Buffer, mac4: Buffer): boolean {
    const m = this.#mac(packet, this.rMac);
    if (!m.subarray(0, 4).equals(mac4)) return false;
    this.cMac = m;
    return true;
  }

  /** The 4 MAC bytes for a reply packet. */
  macReply(packet: Buffer): Buffer {
    this.rMac = this.#mac(packet, this.cMac);
    return this.rMac.subarray(0, 4);
  }

  /** A command's DATA: IV = ~(last reply MAC). Returns null on bad padding. */
  decryptCommand(cipher: Buffer): Buffer | null {
    let iv: Buffer = not(this.rMac);
    const out: number[] = [];
    for (let i = 0; i < cipher.length; i += 16) {
      const block = cipher.subarray(i, i + 16);
      out.push(...xor(ecb(this.sEnc, block, true), iv));
      iv = block;
    }
    while (out.length > 0 && out[out.length - 1] === 0) out.pop();
    if (out.pop() !== 0x80) return null;
    return Buffer.from(out);
  }

  /** A reply's DATA: IV = ~(its command's MAC), padded 80 00… always. */
  encryptReply(data: Buffer): Buffer {
    const padded = Buffer.alloc((Math.floor(data.length / 16) + 1) * 16);
    data.copy(padded);
    padded[data.length] = 0x80;
    let iv: Buffer = not(this.cMac);
    const out: Buffer[] = [];
    for (let i = 0; i < padded.length; i += 16) {
      iv = ecb(this.sEnc, xor(padded.subarray(i, i + 16), iv));
      out.push(iv);
    }
    return Buffer.concat(out);
  }
}
