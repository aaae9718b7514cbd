import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  createLineCodec,
  createRdm6300Codec,
  createWiegandBridgeCodec,
  type EnrolReader,
  encodeBridgeFrame,
  encodeRdm6300Frame,
  enrolCredential,
  wiegandBits,
} from '../../firmware-bridge/index.js';
import { ROOT } from '../helpers/util.js';
import { credentials, prng } from './util.js';

const rdm: EnrolReader = { id: 'entry', protocol: 'rdm6300' };
const bridge: EnrolReader = { id: 'exit', protocol: 'wiegand-bridge' };
const line: EnrolReader = { id: 'usb', protocol: 'line', linePattern: '^[0-9A-Fa-f]{4,32}$' };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialError);
    return (err as Error).message;
  }
  throw new Error('expected a CredentialError');
}

describe('enrolCredential: every documented typed form (docs/bridge-frame.md)', () => {
  it('takes a Wiegand number with or without its prefix, with any of : , / between', () => {
    for (const typed of ['W26:12:3456', 'w26:012:03456', '12:3456', '12,3456', '012/03456', ' 12 : 3456 ']) {
      expect(enrolCredential(typed, 'auto', [bridge]).credential).toBe('W26:12:3456');
    }
    expect(enrolCredential('W34:1234:56789', 'auto', [bridge]).credential).toBe('W34:1234:56789');
    // A facility beyond 8 bits can only be a 34-bit card.
    expect(enrolCredential('1234/56789', 'auto', [bridge])).toEqual({
      format: 'wiegand34',
      credential: 'W34:1234:56789',
    });
  });

  it('says which card size it assumed for a number without its prefix', () => {
    expect(enrolCredential('12:3456', 'auto', [bridge]).warning).toMatch(
      /taken as W26:12:3456 \(a 26-bit card\); a 34-bit card .* is W34:12:3456/,
    );
    expect(enrolCredential('W26:12:3456', 'auto', [bridge]).warning).toBeUndefined();
  });

  it('takes what a line reader produces, e.g. 8 hex digits, upper-cased', () => {
    expect(enrolCredential('deadbeef', 'auto', [line])).toEqual({ format: 'line', credential: 'DEADBEEF' });
    expect(enrolCredential('DEADBEEF', 'auto', [rdm, bridge, line]).credential).toBe('DEADBEEF');
    const digits: EnrolReader = { protocol: 'line', linePattern: '\\d{8}' };
    expect(enrolCredential('00123456', 'auto', [digits]).credential).toBe('00123456');
    expect(refusal(() => enrolCredential('DEADBEEF', 'auto', [digits]))).toMatch(/a line matching \\d\{8\}/);
    expect(enrolCredential('00123456', 'line', [line, digits]).credential).toBe('00123456');
    expect(refusal(() => enrolCredential('XYZ', 'line', [line, digits]))).toMatch(
      /matches the linePattern of no line reader/,
    );
  });

  it('warns about 10 decimal digits read as hex', () => {
    const p = enrolCredential('1234567890', 'auto', [rdm]);
    expect(p.credential).toBe('1234567890');
    expect(p.warning).toMatch(/read as 10 hex digits; if it is the decimal number printed on the card/);
    // The same with a line reader too: one credential, the warning kept.
    expect(enrolCredential('1234567890', 'auto', [rdm, line]).warning).toMatch(/decimal number printed/);
    expect(enrolCredential('0A1B2C3D4E', 'auto', [rdm, line])).toEqual({
      format: 'em4100',
      credential: '0A1B2C3D4E',
    });
  });

  it('refuses the decimal number printed on an EM card with its explanation', () => {
    expect(refusal(() => enrolCredential('0004567890 069,45890', 'auto', [rdm]))).toMatch(
      /printed on an EM card/,
    );
  });

  it('refuses a form no configured reader produces, naming the reader type it would need', () => {
    const m = refusal(() => enrolCredential('W26:12:3456', 'auto', [rdm]));
    expect(m).toMatch(/wiegand-bridge reader would read it as W26:12:3456, but the config has none/);
    expect(m).toMatch(/readers: entry \(rdm6300\).*--format wiegand26/);
    expect(refusal(() => enrolCredential('DEADBEEF', 'auto', [rdm]))).toMatch(
      /10 hex digits.*line reader would read it as DEADBEEF/,
    );
    // Given explicitly, it is enrolled, with a warning that no door reads it yet.
    expect(enrolCredential('12:3456', 'wiegand26', [rdm]).warning).toMatch(
      /no reader in the config produces wiegand26 credentials/,
    );
  });

  it('refuses out-of-range Wiegand numbers and input that is nothing', () => {
    expect(refusal(() => enrolCredential('256:1', 'wiegand26', [bridge]))).toMatch(
      /facility code must be 0..255/,
    );
    expect(refusal(() => enrolCredential('12:65536', 'auto', [bridge]))).toMatch(
      /card number must be 0..65535/,
    );
    expect(refusal(() => enrolCredential('W37:1:1', 'auto', [bridge]))).toMatch(/only W26 and W34/);
    expect(refusal(() => enrolCredential('  ', 'auto', [rdm, bridge, line]))).toMatch(/empty/);
    expect(refusal(() => enrolCredential('hello', 'auto', [rdm, bridge]))).toMatch(
      /not a card number the readers here produce; expected 10 hex digits \(EM4100\), or W26/,
    );
  });

  it('refuses an input two readers would read differently, naming both', () => {
    const loose: EnrolReader = { id: 'kiosk', protocol: 'line', linePattern: '[0-9:]+' };
    expect(refusal(() => enrolCredential('12:3456', 'auto', [bridge, loose]))).toMatch(
      /ambiguous.*W26:12:3456 \(wiegand26\) or as 12:3456 \(line\).*--format/,
    );
    expect(enrolCredential('12:3456', 'line', [bridge, loose]).credential).toBe('12:3456');
  });

  it('gives exactly what each reader codec gives for the same card', () => {
    const next = prng(2026);
    const hex = () => '0123456789abcdefABCDEF'[next() % 22];
    for (let i = 0; i < 200; i++) {
      const id = [...Array(10)].map(hex).join('');
      expect(credentials(createRdm6300Codec().push(encodeRdm6300Frame(id), 0))).toEqual([
        enrolCredential(id, 'auto', [rdm]).credential,
      ]);
      const short = id.slice(0, 4 + (next() % 7));
      expect(credentials(createLineCodec().push(Buffer.from(`${short}\n`), 0))).toEqual([
        enrolCredential(short, 'auto', [line]).credential,
      ]);
      const facility = next() % 256;
      const card = next() % 65536;
      const read = credentials(
        createWiegandBridgeCodec().push(
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', facility, card) }),
          0,
        ),
      );
      const seps = [':', ',', '/'];
      const typed = `${String(facility).padStart(3, '0')}${seps[i % 3]}${card}`;
      expect(read).toEqual([enrolCredential(typed, 'auto', [bridge]).credential]);
      const f34 = 256 + (next() % 65280);
      const read34 = credentials(
        createWiegandBridgeCodec().push(
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand34', f34, card) }),
          0,
        ),
      );
      expect(read34).toEqual([enrolCredential(`${f34}:${card}`, 'auto', [bridge]).credential]);
    }
  });
});

describe('docs/bridge-frame.md, "Credential normalisation"', () => {
  it('every typed example of the table is accepted by a reader of its row, as that row says', () => {
    const doc = readFileSync(join(ROOT, 'docs/bridge-frame.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Credential normalisation'));
    const rows = section
      .split('\n')
      .filter((l) => /^\| `(rdm6300|wiegand-bridge|line)`/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.length).toBe(4);
    let examples = 0;
    for (const [, protocol, produces, typed] of rows) {
      const reader: EnrolReader = { protocol: protocol!.replaceAll('`', '') };
      const forms = [...typed!.matchAll(/`([^`]+)`/g)]
        .map((m) => m[1]!)
        .filter((f) => f.length >= 4 && f !== 'linePattern' && !/[\^$]/.test(f));
      for (const form of forms) {
        const { credential } = enrolCredential(form, 'auto', [reader]);
        if (produces!.includes('W26')) expect(credential, form).toMatch(/^W26:\d+:\d+$/);
        else if (produces!.includes('W34')) expect(credential, form).toMatch(/^W34:\d+:\d+$/);
        else expect(credential, form).toBe(form.replace(/[:\s-]/g, '').toUpperCase());
        examples++;
      }
    }
    expect(examples).toBeGreaterThanOrEqual(10);
  });
});
