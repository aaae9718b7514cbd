/** What a witness would have recorded of a journal: every row's event and a signed checkpoint of the head. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSecrets, Journal } from '../../controller/journal/index.js';
import { HISTORY_FORMAT, ZERO_HASH } from '../../controller/witness/history.js';
import { HistoryWriter } from '../../controller/witness/witness.js';
import { tempDir } from '../helpers/util.js';

export function witnessedHistory(journal: Journal, secrets: DeviceSecrets): string {
  const cp = journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId);
  const file = join(tempDir('sekisho-witnessed-'), 'history.jsonl');
  const w = new HistoryWriter(file, 0, ZERO_HASH, (err) => {
    throw err;
  });
  w.append(
    {
      kind: 'history',
      format: HISTORY_FORMAT,
      controller: cp.controller,
      topic: `sekisho/${cp.controller}`,
      keyId: secrets.keyId,
    },
    1,
  );
  for (const r of journal.iterate(1))
    w.append({ kind: 'event', seq: r.seq, hash: r.hash, prevHash: r.prevHash, at: r.at, type: r.type }, 2);
  w.append({ kind: 'checkpoint', checkpoint: cp }, 3);
  w.close();
  return readFileSync(file, 'utf8');
}
