/**
 * What the witness has seen, and the checks each new message meets (docs/journal.md, "The witness"):
 * the off-device verifier of controller/journal/feed-verify.ts — one implementation for the witness
 * and the collector — fed from the witness's history at each start. No I/O: the caller records and
 * announces what the checks find.
 */
import { type FeedFinding, type FeedObservation, FeedVerifier, SeenEvents } from '../journal/feed-verify.js';
import type { HistoryLine, WitnessedEvent } from './history.js';

export type Finding = FeedFinding;
export type Observation = FeedObservation;
export { SeenEvents };

export class WitnessState extends FeedVerifier {
  /** Replays a line of the history, at start (the history was checked line by line before). */
  replay(line: HistoryLine): void {
    if (line.kind === 'checkpoint') this.replayCheckpoint(line.checkpoint);
    else if (line.kind === 'event') this.replayRow(line);
    else if (line.kind === 'alarm') {
      const sig = (line.evidence.checkpoint as { signature?: unknown } | undefined)?.signature;
      if (line.alarm === 'bad_signature' && typeof sig === 'string') this.replayBadSignature(sig);
    }
  }

  /** An event whose hash was already recomputed from its bytes (the witness calls observeRow). */
  observeEvent(ev: WitnessedEvent): Observation {
    const { record, findings } = this.observeRecomputed(ev);
    return { record, findings };
  }
}
