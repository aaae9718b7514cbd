/**
 * Compares the journal with an uploaded witness history — or a bare checkpoints file, as published
 * on MQTT — in a child process, for the Integrity page, so that reading a history of years and
 * walking the chain never block the door's event loop.
 * argv: <journal.db> <uploaded file> <controller id>; stdin: the pinned public key (PEM). Prints
 * `{"check": WitnessCheck}` or `{"checkpoints": CheckpointsCheck}`, or `{"refused": "<why>"}` when
 * the file or key cannot be used.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../controller/journal/index.js';
import { checkAgainstCheckpoints, uploadFormat } from '../controller/witness/checkpoints-file.js';
import { checkAgainstWitness } from '../controller/witness/compare.js';
import { HistoryError, loadHistoryFile } from '../controller/witness/history.js';

const [dbFile, historyFile, controllerId] = process.argv.slice(2);
if (!dbFile || !historyFile || !controllerId) {
  process.stderr.write(
    'usage: witness-child <journal.db> <history or checkpoints> <controller id> < public-key.pem\n',
  );
  process.exit(2);
}
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
let key: ReturnType<typeof createPublicKey>;
try {
  key = createPublicKey(Buffer.concat(chunks).toString('utf8'));
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not Ed25519`);
} catch (err) {
  process.stdout.write(
    `${JSON.stringify({ refused: `the public key cannot be used: ${(err as Error).message}` })}\n`,
  );
  process.exit(0);
}
const db = openDatabase(dbFile, { readonly: true });
try {
  const text = readFileSync(historyFile, 'utf8');
  if (uploadFormat(text) === 'checkpoints') {
    const r = checkAgainstCheckpoints(db, text, controllerId, key);
    process.stdout.write(`${JSON.stringify('refused' in r ? r : { checkpoints: r.check })}\n`);
    process.exit(0);
  }
  const check = checkAgainstWitness(db, (onEvent) => loadHistoryFile(historyFile, onEvent), key);
  process.stdout.write(`${JSON.stringify({ check })}\n`);
} catch (err) {
  if (!(err instanceof HistoryError)) throw err;
  process.stdout.write(`${JSON.stringify({ refused: err.message })}\n`);
} finally {
  db.close();
}
