/**
 * The OSDP Secure Channel cryptography against the SIA standard's Annex E examples, and the panel's
 * implementation against the reader simulator's separately written one.
 */
import { describe, expect, it } from 'vitest';
import {
  cbcMac,
  clientCryptogram,
  decryptData,
  deriveSessionKeys,
  encryptData,
  initialRmac,
  SCBK_D,
  SecureChannelError,
  SecureSession,
  scbkFromMasterKey,
  serverCryptogram,
} from '../../firmware-bridge/osdp/sc-crypto.js';
import { PdSecureChannel } from '../helpers/osdp-pd-sc.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

// SIA OSDP v2.2, Annex E: the secure channel example with SCBK-D.
const RND_A = hex('B0 B1 B2 B3 B4 B5 B6 B7');
const RND_B = hex('A0 A1 A2 A3 A4 A5 A6 A7');

describe('OSDP Secure Channel: Annex E', () => {
  const keys = deriveSessionKeys(SCBK_D, RND_A);

  it('derives the session keys', () => {
    expect(keys.sMac1.toString('hex')).toBe('5e86c676603bdee2d8beafe178637332');
    expect(keys.sMac2.toString('hex')).toBe('6fda86e857777e811320357582391 72e'.replace(' ', ''));
    expect(keys.sEnc.toString('hex')).toBe('bf8dc2a8329acb8c67c6d0cd9a451682');
  });

  it('computes the client and server cryptograms and R-MAC-I', () => {
    expect(clientCryptogram(keys, RND_A, RND_B).toString('hex')).toBe(
      'fde5d2f428ec163124 71ea3c02bd7796'.replace(' ', ''),
    );
    const server = serverCryptogram(keys, RND_A, RND_B);
    expect(server.toString('hex')).toBe('26d3356e07762d262801fc8e6665a891');
    expect(initialRmac(keys, server).toString('hex')).toBe('b2a30057eb98ba2229ec1f875662b524');
  });

  it('refuses keys and randoms of the wrong size', () => {
    expect(() => deriveSessionKeys(SCBK_D.subarray(0, 15), RND_A)).toThrow(SecureChannelError);
    expect(() => deriveSessionKeys(SCBK_D, RND_A.subarray(0, 7))).toThrow(/RND.A must be 8 bytes/);
  });
});

describe('OSDP Secure Channel: padding and chaining', () => {
  const keys = deriveSessionKeys(SCBK_D, RND_A);
  const icv = Buffer.alloc(16, 0x11);

  it('pads a MAC input only when it is not whole blocks, and the data always', () => {
    const whole = Buffer.alloc(32, 7);
    // Whole blocks: the MAC of 32 bytes differs from the MAC of the same bytes padded to 48.
    const padded = Buffer.concat([whole, Buffer.from([0x80]), Buffer.alloc(15)]);
    expect(cbcMac(keys, icv, whole).equals(cbcMac(keys, icv, padded))).toBe(false);
    const byHand = Buffer.concat([Buffer.alloc(5, 1), Buffer.from([0x80]), Buffer.alloc(10)]);
    expect(cbcMac(keys, icv, Buffer.alloc(5, 1)).equals(cbcMac(keys, icv, byHand))).toBe(true);
    expect(encryptData(keys, icv, Buffer.alloc(16)).length).toBe(32);
    expect(encryptData(keys, icv, Buffer.alloc(15)).length).toBe(16);
    expect(decryptData(keys, icv, encryptData(keys, icv, Buffer.alloc(16, 9)))).toEqual(Buffer.alloc(16, 9));
  });

  it('refuses data that is not whole blocks or not padded', () => {
    expect(() => decryptData(keys, icv, Buffer.alloc(15))).toThrow(SecureChannelError);
    const noPad = Buffer.alloc(16, 0x42);
    const cipher = encryptData(keys, icv, noPad).subarray(0, 16); // the first block only: no 80 marker
    expect(() => decryptData(keys, icv, cipher)).toThrow(/padding/);
  });

  it('diversifies a reader key from a master key by its cUID', () => {
    const mk = hex('000102030405060708090a0b0c0d0e0f');
    const a = scbkFromMasterKey(mk, hex('0102030405060708'));
    expect(a.length).toBe(16);
    expect(a.equals(scbkFromMasterKey(mk, hex('0102030405060709')))).toBe(false);
  });
});

/** A handshake and a conversation between the panel's code and the simulator's own. */
function handshake(panelKey: Buffer, readerKey: Buffer) {
  const pd = new PdSecureChannel(readerKey);
  const client = pd.challenge(RND_A, RND_B);
  const keys = deriveSessionKeys(panelKey, RND_A);
  if (!client.equals(clientCryptogram(keys, RND_A, RND_B))) return { pd, panel: null };
  const rmacI = pd.serverCryptogram(serverCryptogram(keys, RND_A, RND_B));
  if (!rmacI?.equals(initialRmac(keys, serverCryptogram(keys, RND_A, RND_B)))) return { pd, panel: null };
  return { pd, panel: new SecureSession(keys, rmacI) };
}

/** A made-up packet header (SOM, address, length, control, SCB) before the data. */
const header = (type: number, len: number) =>
  Buffer.from([0x53, 0x01, len & 0xff, len >> 8, 0x0d, 0x02, type]);

describe('OSDP Secure Channel: the panel with the simulated reader', () => {
  it('agrees on every MAC and every encrypted payload over a conversation', () => {
    const { pd, panel } = handshake(SCBK_D, SCBK_D);
    expect(panel).not.toBeNull();
    for (let i = 0; i < 20; i++) {
      const data = Buffer.from(`LED pattern ${i} `.repeat(i % 4));
      const cipher = data.length > 0 ? panel!.encryptCommand(data) : Buffer.alloc(0);
      const packet = Buffer.concat([
        header(data.length ? 0x17 : 0x15, 30 + cipher.length),
        Buffer.from([0x69]),
        cipher,
      ]);
      const mac = panel!.macCommand(packet);
      expect(pd.checkCommand(packet, mac), `command ${i}`).toBe(true);
      if (data.length) expect(pd.decryptCommand(cipher)).toEqual(data);

      const reply = Buffer.from(`card ${i}`);
      const rc = pd.encryptReply(reply);
      const rpacket = Buffer.concat([header(0x18, 30 + rc.length), Buffer.from([0x50]), rc]);
      const rmac = pd.macReply(rpacket);
      expect(panel!.openReply(rpacket, rmac), `reply ${i}`).toBe(true);
      expect(panel!.decryptReply(rc)).toEqual(reply);
    }
  });

  it('fails the handshake when the reader holds another key', () => {
    expect(handshake(SCBK_D, hex('00112233445566778899aabbccddeeff')).panel).toBeNull();
  });

  it('refuses a flipped bit, a replayed reply and a frame after a lost reply', () => {
    const { pd, panel } = handshake(SCBK_D, SCBK_D);
    const cmd = Buffer.concat([header(0x15, 14), Buffer.from([0x60])]);
    const mac = panel!.macCommand(cmd);
    const flipped = Buffer.from(cmd);
    flipped[7]! ^= 0x01;
    expect(pd.checkCommand(flipped, mac)).toBe(false);
    expect(pd.checkCommand(cmd, mac)).toBe(true);
    const reply = Buffer.concat([header(0x16, 14), Buffer.from([0x40])]);
    const rmac = pd.macReply(reply);
    expect(panel!.openReply(reply, rmac)).toBe(true);
    // The same reply again: its MAC was made from the previous command's chain.
    panel!.macCommand(cmd);
    expect(panel!.openReply(reply, rmac)).toBe(false);
    // A reply lost on the line: the reader's chain moved on, the panel's did not, so the panel's
    // next command fails at the reader (OSDP then repeats the last reply for a repeated sequence).
    const { pd: pd2, panel: panel2 } = handshake(SCBK_D, SCBK_D);
    expect(pd2.checkCommand(cmd, panel2!.macCommand(cmd))).toBe(true);
    pd2.macReply(reply); // never reaches the panel
    expect(pd2.checkCommand(cmd, panel2!.macCommand(cmd))).toBe(false);
  });
});
