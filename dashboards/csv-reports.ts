/**
 * The reports and the compliance view as CSV text (pure: the route reads, this writes). Cells go
 * through the log export's csvCell (control characters shown, formulas defused); lines end in CRLF
 * as Excel expects; the route adds the BOM.
 */

import type { Translate } from './i18n.js';
import {
  type ActorNames,
  actorLabel,
  alarmLabel,
  type DoorLabel,
  doorName,
  fmtTime,
  reasonLabel,
} from './pages/layout.js';
import type { ComplianceItem, Report } from './reports.js';
import { csvCell } from './routes/log.js';

export type CsvTable = 'after-hours' | 'denials' | 'door-alarms';

const line = (cells: (string | number | null)[]) => `${cells.map(csvCell).join(',')}\r\n`;

export function reportCsv(
  t: Translate,
  table: CsvTable,
  rep: Report,
  v: { tz: string; doors: readonly DoorLabel[]; actors: ActorNames },
): string {
  if (table === 'after-hours')
    return (
      line([t('name'), t('id_card'), t('after_hours_entries'), t('after_hours_times')]) +
      rep.afterHoursByPerson
        .map((p) =>
          line([
            p.name ?? t('unknown_person'),
            p.displayId,
            p.count,
            p.entries.map((e) => fmtTime(v, e.at)).join('; '),
          ]),
        )
        .join('')
    );
  if (table === 'denials')
    return (
      line([t('reason'), t('count')]) + rep.denials.map((d) => line([reasonLabel(t, d.reason), d.n])).join('')
    );
  return (
    line([t('raised_at'), t('alarm'), t('door'), t('acknowledged'), t('comment')]) +
    rep.doorAlarms
      .map((a) =>
        line([
          fmtTime(v, a.at),
          alarmLabel(t, a.type),
          doorName(v, a.door),
          a.ackedAt ? actorLabel(v, a.ackedBy) : t('unacknowledged'),
          a.ackComment ?? '',
        ]),
      )
      .join('')
  );
}

export function complianceCsv(t: Translate, items: readonly ComplianceItem[]): string {
  return (
    line([t('clause'), t('requirement'), t('status'), t('evidence'), t('cmp_basis')]) +
    items
      .map((i) =>
        line([
          i.clause,
          t(i.requirement),
          t(i.status),
          i.evidence.map(([k, val]) => `${t(k)}: ${val}`).join('; '),
          i.basis ? t(i.basis) : '',
        ]),
      )
      .join('')
  );
}
