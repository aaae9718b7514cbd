/**
 * The order the active alarms are shown and answered in (Live, Alarms, the banner, `/api/alarms`,
 * `/api/status`): by severity, most severe first, then newest first — a forced door is never listed
 * below an older held door.
 */
import type { ActiveAlarm, AlarmSeverity } from '../controller/domain/index.js';

const RANK: Readonly<Record<AlarmSeverity, number>> = { critical: 0, major: 1, minor: 2, warning: 3 };

export function orderAlarms<A extends Pick<ActiveAlarm, 'severity' | 'raisedAt' | 'id'>>(
  alarms: readonly A[],
): A[] {
  return [...alarms].sort(
    (a, b) => (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9) || b.raisedAt - a.raisedAt || b.id - a.id,
  );
}
