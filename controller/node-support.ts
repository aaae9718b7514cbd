/**
 * Which Node.js release lines get security fixes, and until when: a security device must not run on
 * a runtime past its end of life. Pure: the version and today's date are passed in.
 *
 * The dates are the Node.js Release Working Group's schedule (github.com/nodejs/Release,
 * schedule.json). From 27 on, every line becomes LTS in the October after its April release; a line
 * not in this table is reported as unknown, never as supported. Check the schedule and update the
 * table (and NODE_SCHEDULE_CHECKED) with every release of Sekisho.
 */

/** The day the table below was last compared with the Node.js release schedule. */
export const NODE_SCHEDULE_CHECKED = '2026-12-07';

export interface NodeLine {
  major: number;
  /** First day of LTS; null for the odd lines that never became LTS. */
  lts: string | null;
  /** The last day with security fixes. */
  end: string;
}

export const NODE_LINES: readonly NodeLine[] = [
  { major: 18, lts: '2022-10-25', end: '2025-04-30' },
  { major: 20, lts: '2023-10-24', end: '2026-04-30' },
  { major: 21, lts: null, end: '2024-06-01' },
  { major: 22, lts: '2024-10-29', end: '2027-04-30' },
  { major: 23, lts: null, end: '2025-06-01' },
  { major: 24, lts: '2025-10-28', end: '2028-04-30' },
  { major: 25, lts: null, end: '2026-06-01' },
  { major: 26, lts: '2026-10-28', end: '2029-04-30' },
];

/** The lines Sekisho is tested on and supports (package.json `engines` says the same). */
export const SUPPORTED_MAJORS: readonly number[] = [22, 24, 26];

export type NodeSupportStatus =
  /** An LTS line Sekisho supports, before its end of life. */
  | 'supported'
  /** Past its end of life: no more security fixes. */
  | 'end-of-life'
  /** Still maintained but not a line Sekisho is tested on (an odd line, or a line not yet LTS). */
  | 'untested'
  /** Not in the table: newer than the table's last check. */
  | 'unknown';

export interface NodeSupport {
  status: NodeSupportStatus;
  version: string;
  major: number;
  /** The line's end of life, when the table knows it. */
  end: string | null;
  /** Whole days from today to the end of life (negative once past it). */
  daysLeft: number | null;
  /** One sentence for the log and `sekisho doctor`. */
  message: string;
}

const DAY_MS = 86_400_000;

function utcDay(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

/** How `version` (e.g. "24.22.3" or "v24.22.3") stands on `today` (YYYY-MM-DD). */
export function nodeSupport(version: string, today: string): NodeSupport {
  const v = version.replace(/^v/, '');
  const major = Number.parseInt(v, 10);
  const line = NODE_LINES.find((l) => l.major === major);
  const checked = `(release schedule as checked on ${NODE_SCHEDULE_CHECKED})`;
  if (!line) {
    return {
      status: 'unknown',
      version: v,
      major,
      end: null,
      daysLeft: null,
      message: `Node.js ${v} is not in Sekisho's table of release lines ${checked}: check that it still gets security fixes`,
    };
  }
  const daysLeft = Math.round((utcDay(line.end) - utcDay(today)) / DAY_MS);
  const base = { version: v, major, end: line.end, daysLeft };
  if (daysLeft < 0) {
    return {
      ...base,
      status: 'end-of-life',
      message: `Node.js ${v} reached its end of life on ${line.end} and gets no security fixes: install Node.js ${SUPPORTED_MAJORS.at(-2)} or ${SUPPORTED_MAJORS.at(-1)} (docs/install.md)`,
    };
  }
  if (!SUPPORTED_MAJORS.includes(major) || line.lts === null || utcDay(today) < utcDay(line.lts)) {
    return {
      ...base,
      status: 'untested',
      message: `Node.js ${v} is not (or not yet) a long-term-support line Sekisho supports (${SUPPORTED_MAJORS.join(', ')}); it gets fixes until ${line.end}`,
    };
  }
  return {
    ...base,
    status: 'supported',
    message: `Node.js ${v} is supported; its line gets security fixes until ${line.end} ${checked}`,
  };
}
