/**
 * A declared gap in the seqs (docs/journal.md, "Declared gaps"): a `journal_truncated` or
 * `journal_restored` row may take a seq above the previous row's + 1 when its data names exactly the
 * seqs it skips. Shared by the walks that check the chain outside verifyJournal (archiving).
 */

const GAP_PREFIX = /^\{"v":\d+,"seq":(\d+),"at":\d+,"type":"(journal_truncated|journal_restored)",/;

/**
 * The seq of `bytes` when it is a gap row that skips exactly `expected` .. seq − 1; null otherwise
 * (not a gap row, no skip, or a range that does not match).
 */
export function declaredJump(bytes: string, expected: number): number | null {
  const m = GAP_PREFIX.exec(bytes);
  if (!m) return null;
  const seq = Number(m[1]);
  if (seq <= expected) return null;
  try {
    const data = (JSON.parse(bytes) as { data?: { lostFrom?: unknown; lostThrough?: unknown } }).data;
    return data?.lostFrom === expected && data.lostThrough === seq - 1 ? seq : null;
  } catch {
    return null;
  }
}
