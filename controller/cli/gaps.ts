/** The declared gaps `sekisho verify` prints in its plain output (docs/journal.md, "Declared gaps"). */
import type { DeclaredGap } from '../journal/index.js';

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}

/** One line per declared gap, or nothing. */
export function declaredGapLines(gaps: readonly DeclaredGap[]): string {
  return gaps
    .map((g) => {
      const range =
        g.lostThrough === null
          ? `rows from seq ${g.lostFrom} on were lost (how many is not known)`
          : g.lostThrough < g.lostFrom
            ? 'no row was lost'
            : `rows ${g.lostFrom} to ${g.lostThrough} are missing`;
      const who =
        g.type === 'journal_restored'
          ? `a backup was restored by ${g.actor ?? 'unknown'}`
          : 'declared by the controller (alarm journal_truncated)';
      return `declared gap at seq ${g.seq} (${g.type}, ${iso(g.at)}): ${range}; ${who}\n`;
    })
    .join('');
}
