/**
 * Runs `verifyJournal` in a child process for the dashboard's "verify now", so that walking the
 * whole chain (years of rows on a Raspberry Pi) never blocks the door's event loop.
 * argv: <journal.db>; stdin: the device's public key (PEM). Prints the VerifyResult as JSON.
 */
import { createPublicKey } from 'node:crypto';
import { openDatabase, verifyJournal } from '../controller/journal/index.js';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: verify-child <journal.db> < public-key.pem\n');
  process.exit(2);
}
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const pem = Buffer.concat(chunks).toString('utf8');
const db = openDatabase(file, { readonly: true });
try {
  const result = verifyJournal(db, pem.trim() ? { publicKey: createPublicKey(pem) } : {});
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  db.close();
}
