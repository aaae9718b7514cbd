/**
 * The evidence export's check trusts the key inside the export unless a pinned key is given (issue
 * #15): a forger who signs a made-up export with their own key and puts that key in the header gets
 * a self-consistent export. Unpinned, `verifyEvidence` must say so loudly (status
 * `intact_key_not_pinned`, a `key not pinned` warning); pinned, the forgery fails.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicKeyId } from '../../controller/journal/index.js';
import { Integrity, verifyEvidence } from '../../dashboards/integrity.js';
import { fill, openJournal, tempDir } from '../journal/helpers.js';

async function exportOf(keys: ReturnType<typeof ed>) {
  const { journal } = openJournal(join(tempDir(), 'journal.db'));
  fill(journal, 12);
  journal.checkpoint(Date.now(), keys.privateKey, publicKeyId(keys.publicKey));
  const integrity = new Integrity(journal, keys.publicKey, undefined as never);
  let text = '';
  for await (const chunk of integrity.exportEvidence({
    fromSeq: 1,
    toSeq: 12,
    controller: 'ctl-1',
    site: 'site',
    exportedAt: Date.now(),
    exportedBy: 'user:auditor',
    signingKey: keys.privateKey,
    keyId: publicKeyId(keys.publicKey),
  }))
    text += chunk;
  return text;
}

const ed = () => generateKeyPairSync('ed25519');
const pem = (k: ReturnType<typeof ed>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('verifyEvidence and the pinned key', () => {
  it('with the pinned key: intact, no warning', async () => {
    const device = ed();
    const r = await exportOf(device).then((t) => verifyEvidence(t, pem(device)));
    expect(r).toEqual({
      ok: true,
      rows: 12,
      keyId: publicKeyId(device.publicKey),
      status: 'intact',
      keyPinned: true,
      warnings: [],
    });
  });

  it('a forgery signed with the forger’s own key: unpinned it is loudly only self-consistent; pinned it fails', async () => {
    const device = ed();
    const forger = ed();
    const forged = await exportOf(forger);
    const unpinned = verifyEvidence(forged);
    expect(unpinned).toMatchObject({
      ok: true,
      status: 'intact_key_not_pinned',
      keyPinned: false,
      keyId: publicKeyId(forger.publicKey),
    });
    expect(unpinned.ok && unpinned.warnings.join('\n')).toMatch(
      /^key not pinned: checked with the public key inside the export/,
    );
    expect(verifyEvidence(forged, pem(device))).toEqual({
      ok: false,
      problem: 'the signature does not verify',
    });
  });

  it('the key id reported is the key actually used, not what the header claims', async () => {
    const device = ed();
    const forger = ed();
    const text = await exportOf(forger);
    const lines = text.split('\n');
    // The header claims the device's key id; the signature is the forger's. The digest covers the
    // header, so the trailer is re-made by the forger too.
    const header = JSON.parse(lines[0]!);
    header.keyId = publicKeyId(device.publicKey);
    lines[0] = JSON.stringify(header);
    const { createHash, sign } = await import('node:crypto');
    const body = lines
      .slice(0, -2)
      .map((l) => `${l}\n`)
      .join('');
    const digest = createHash('sha256').update(body, 'utf8').digest('hex');
    const trailer = JSON.parse(lines.at(-2)!);
    trailer.sha256 = digest;
    trailer.signature = sign(null, Buffer.from(`sekisho-evidence/1:${digest}`), forger.privateKey).toString(
      'base64',
    );
    lines[lines.length - 2] = JSON.stringify(trailer);
    const r = verifyEvidence(lines.join('\n'));
    expect(r).toMatchObject({
      ok: true,
      status: 'intact_key_not_pinned',
      keyId: publicKeyId(forger.publicKey),
    });
  });
});
