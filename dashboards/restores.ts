/**
 * The compliance view's row for restores (§8(1)③, §4(3)): a restore declares the rows lost with the
 * failed card, and a different person acknowledges it; attention while one waits.
 */
import { RestoreStore } from '../controller/approvals/restores.js';
import type { Dash } from './context.js';
import type { ComplianceItem } from './reports.js';

export function restoresItem(dash: Dash): ComplianceItem {
  const list = new RestoreStore(dash.controller.journal).list();
  const pending = list.filter((r) => r.needsReview).length;
  return {
    clause: '§8(1)③ §4(3)',
    requirement: 'cmp_restores',
    status: pending === 0 ? 'ok' : 'attention',
    evidence: [
      ['cmp_ev_restores', list.length],
      ['cmp_ev_restores_pending', pending],
    ],
    link: { href: '/restores', label: 'cmp_restores_link' },
  };
}
