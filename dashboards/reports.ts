/**
 * Reports that analyse the log (POLICY §8(1)③) and the compliance view, clause by clause, for the
 * self-inspection of §12. Every figure is an index range or a small table, never a journal scan.
 */

import { can } from '../controller/accounts/roles.js';
import { ConfigChangeStore } from '../controller/approvals/config-changes.js';
import type { ScheduleConfig } from '../controller/config/index.js';
import { dataFields, isWithinSchedule } from '../controller/domain/index.js';
import { checkProtections, retentionCutoff } from '../controller/journal/index.js';
import { formatLocal } from '../controller/time.js';
import { commissioningOf } from './commissioning.js';
import type { Dash } from './context.js';
import { restoresItem } from './restores.js';
import { breakGlassOfDash } from './routes/requests.js';
import { DoorAlarmType } from './vocabulary.js';

/** Office hours for "after hours": the `office-hours` schedule, else weekdays 08:30–18:00. */
export function officeHours(dash: Dash): ScheduleConfig {
  return (
    dash.controller.config.schedules.find((s) => s.id === 'office-hours') ?? {
      id: 'office-hours',
      windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }],
      includeHolidays: false,
      always: false,
    }
  );
}

export interface Report {
  from: number;
  to: number;
  afterHours: {
    seq: number;
    at: number;
    person: string | null;
    name: string | null;
    displayId: string | null;
  }[];
  afterHoursTruncated: boolean;
  /**
   * The same entries counted per person, most entries first (then by name): one row per person,
   * with the times of their entries, oldest first. Entries of no known person are one row (`person: null`).
   */
  afterHoursByPerson: {
    person: string | null;
    name: string | null;
    displayId: string | null;
    count: number;
    entries: { seq: number; at: number }[];
  }[];
  denials: { reason: string; n: number }[];
  doorAlarms: ReturnType<Dash['index']['alarms']>;
  alarmCounts: { total: number; unacknowledged: number };
}

const MAX_SCAN = 20_000;

export async function buildReport(dash: Dash, from: number, to: number): Promise<Report> {
  await dash.index.sync();
  const { config, registry } = dash.controller;
  const schedule = officeHours(dash);
  const scanned = dash.index.grantedEntries(from, to, MAX_SCAN);
  const entries = scanned.filter((e) => !isWithinSchedule(schedule, e.at, config.timeZone, config.holidays));
  // Only the people the rows name, in batched queries.
  const people = registry.getPeople(entries.flatMap((e) => (e.person ? [e.person] : [])));
  const afterHours = entries.map((e) => {
    const p = e.person ? people.get(e.person) : undefined;
    return {
      seq: e.seq,
      at: e.at,
      person: e.person,
      name: p?.name ?? null,
      displayId: p?.displayId ?? null,
    };
  });
  return {
    from,
    to,
    afterHours,
    afterHoursTruncated: scanned.length >= MAX_SCAN,
    afterHoursByPerson: byPerson(afterHours),
    denials: dash.index.denialsByReason(from, to),
    doorAlarms: dash.index.alarms({ from, to, types: DoorAlarmType.options, limit: 500 }),
    alarmCounts: dash.index.alarmCounts(from, to),
  };
}

/** After-hours entries counted per person (pure): most entries first, then by name, then by id. */
export function byPerson(entries: Report['afterHours']): Report['afterHoursByPerson'] {
  const groups = new Map<string | null, Report['afterHoursByPerson'][number]>();
  for (const e of entries) {
    let g = groups.get(e.person);
    if (!g) {
      g = { person: e.person, name: e.name, displayId: e.displayId, count: 0, entries: [] };
      groups.set(e.person, g);
    }
    g.count++;
    g.entries.push({ seq: e.seq, at: e.at });
  }
  const out = [...groups.values()];
  for (const g of out) g.entries.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return out.sort(
    (a, b) =>
      b.count - a.count ||
      (a.name ?? '').localeCompare(b.name ?? '', 'ja') ||
      (a.person ?? '').localeCompare(b.person ?? ''),
  );
}

export type ComplianceStatus = 'ok' | 'attention';

export interface ComplianceItem {
  clause: string;
  /** i18n key of the requirement. */
  requirement: string;
  status: ComplianceStatus;
  /** Facts, as [i18n key, value] pairs. */
  evidence: [string, string | number][];
  /** Where the details are: a page and the i18n key of the link's text. */
  link?: { href: string; label: string };
  /** i18n key of a sentence: what the status is computed from and what would make it 要確認. */
  basis?: string;
}

/** The policy's retention (§5(2)⑪ウ), whatever the config adds to it. */
const POLICY_RETENTION_YEARS = 5;
/** At most this many lost reports are checked against the door's grants (each one index query). */
const MAX_LOST_CHECKED = 500;

const DAY = 86_400_000;

export function compliance(dash: Dash): ComplianceItem[] {
  const { controller, requests, users, integrity } = dash;
  const { journal, registry, config } = controller;
  const now = dash.now();
  const status = controller.status();
  const items: ComplianceItem[] = [];
  const item = (
    clause: string,
    requirement: string,
    ok: boolean,
    evidence: [string, string | number][],
    basis?: string,
  ) =>
    items.push({
      clause,
      requirement,
      status: ok ? 'ok' : 'attention',
      evidence,
      ...(basis ? { basis } : {}),
    });

  const last30 = dash.index.accessSeqs({ from: now - 30 * DAY, limit: 1 }).length;
  item('§7(1)②ア', 'cmp_log', status.journal.storageOk, [
    ['cmp_ev_storage', status.journal.storageOk ? 'OK' : 'FAULT'],
    ['cmp_ev_recent_entries', last30 > 0 ? '✓' : '—'],
    ['cmp_ev_pending_writes', status.journal.pendingWrites],
  ]);

  const v = integrity.lastVerification();
  const cp = integrity.checkpointStatus();
  const verifiedRecently = !!v && v.result.ok && now - v.at < 7 * DAY;
  // The database must still refuse changes: a dropped or altered trigger needs attention at once.
  const protections = checkProtections(controller.db);
  item(
    '§8(1)③',
    'cmp_integrity',
    verifiedRecently && protections.intact && (!cp.checkpoint || (cp.signatureValid && cp.matchesJournal)),
    [
      [
        'cmp_ev_protections',
        protections.intact
          ? 'OK'
          : `NG (${protections.problems.map((p) => p.name).join(', ') || 'user_version'})`,
      ],
      ['cmp_ev_last_verify', v ? `${v.result.ok ? 'OK' : 'NG'} ${formatLocal(v.at, config.timeZone)}` : '—'],
      [
        'cmp_ev_checkpoint',
        cp.checkpoint ? `#${cp.checkpoint.seq} ${cp.signatureValid && cp.matchesJournal ? 'OK' : 'NG'}` : '—',
      ],
    ],
  );

  // Kept: the database refuses deletion, and every archive (the only way rows leave) took rows
  // older than the policy's 5 years only, judged at the archive's own time.
  const archives = journal.query({ types: ['journal_archived'], limit: 10_000 });
  const early = archives.filter((a) => {
    const lastAt = Number(dataFields(a).lastAt);
    return !Number.isFinite(lastAt) || lastAt >= retentionCutoff(a.at, POLICY_RETENTION_YEARS);
  }).length;
  const lastCut = archives.reduce((m, a) => Math.max(m, Number(dataFields(a).toSeq) || 0), 0);
  const first = journal.get(lastCut + 1);
  item(
    '§5(2)⑪ウ',
    'cmp_retention',
    config.storage.retentionYears >= POLICY_RETENTION_YEARS && protections.intact && early === 0,
    [
      ['cmp_ev_oldest', first ? formatLocal(first.at, config.timeZone).slice(0, 10) : '—'],
      ['cmp_ev_retention_years', config.storage.retentionYears],
      ['cmp_ev_delete_refused', protections.intact ? 'OK' : 'NG'],
      ['cmp_ev_archives', archives.length],
      ['cmp_ev_archives_early', early],
    ],
    'cmp_basis_retention',
  );

  // By person, whatever credential each side used; and approvals no person can answer for.
  const selfApproved = requests.selfApprovedCount();
  const unattributed = requests.unattributedApprovalCount();
  const refused = journal.query({
    types: ['self_approval_refused', 'request_refused'],
    from: now - 365 * DAY,
    limit: 10_000,
  }).length;
  item('§4(3)', 'cmp_sod', selfApproved === 0 && unattributed === 0, [
    ['cmp_ev_self_approved', selfApproved],
    ['cmp_ev_unattributed', unattributed],
    ['cmp_ev_self_refused', refused],
    ['cmp_ev_pending_requests', requests.pendingCount()],
  ]);
  // The one exception (やむを得ない場合), counted on its own: attention while a review is pending.
  const breakGlass = breakGlassOfDash(dash);
  const pendingReviews = breakGlass.pendingReviews().length;
  item('§4(3)', 'cmp_break_glass', pendingReviews === 0, [
    ['cmp_ev_break_glass_uses', breakGlass.count()],
    ['cmp_ev_break_glass_pending', pendingReviews],
  ]);

  const unacked = status.alarms.filter((a) => !a.acknowledged);
  const oldest = unacked.reduce((m, a) => Math.min(m, a.raisedAt), now);
  item(
    '§4(2)②',
    'cmp_alarms',
    unacked.every((a) => now - a.raisedAt < 3_600_000),
    [
      ['cmp_ev_unacked', unacked.length],
      ['cmp_ev_oldest_unacked_min', unacked.length ? Math.round((now - oldest) / 60_000) : 0],
    ],
  );

  // Counted in SQL: the registry may hold 100,000 people and their badges.
  const registryCounts = registry.attentionCounts(now);
  const lost = lostBadgeUse(dash, now);
  item(
    '§6(1)⑧',
    'cmp_lost',
    lost.grantedAfter === 0,
    [
      ['cmp_ev_lost_badges', registryCounts.lostBadges],
      ['cmp_ev_lost_reports', lost.reports],
      ['cmp_ev_lost_granted', lost.grantedAfter],
    ],
    'cmp_basis_lost',
  );

  const { expiredPeople, expiredBadges } = registryCounts;
  const accounts = users.list();
  const expiredAccounts = accounts.filter(
    (u) => u.active && u.validUntil !== null && u.validUntil <= now,
  ).length;
  item('§6(1)⑨', 'cmp_expiry', expiredAccounts === 0, [
    ['cmp_ev_expired_people', expiredPeople],
    ['cmp_ev_expired_badges', expiredBadges],
    ['cmp_ev_expired_accounts', expiredAccounts],
  ]);

  const weakHashes = users.weakPasswordHashes();
  item(
    '§6(1)⑦ §8(2)④',
    'cmp_passwords',
    weakHashes === 0,
    [
      ['cmp_ev_accounts', accounts.filter((u) => u.active).length],
      ['cmp_ev_weak_hashes', weakHashes],
      ['cmp_ev_must_change', accounts.filter((u) => u.active && u.mustChangePassword).length],
      ['cmp_ev_locked', accounts.filter((u) => u.lockedUntil !== null && u.lockedUntil > now).length],
    ],
    'cmp_basis_passwords',
  );

  const visitorsOverdue = registryCounts.overdueVisitors;
  item('§7(1)②エ', 'cmp_visitors', visitorsOverdue === 0, [['cmp_ev_visitors_overdue', visitorsOverdue]]);

  const offline = status.readers.filter((r) => !r.online).length;
  // An unknown clock state is not a synchronised clock: 要確認 until it can be told.
  item(
    '§8(1)④ §9(1)',
    'cmp_health',
    offline === 0 && status.journal.storageOk && status.clockSynced === true,
    [
      ['cmp_ev_readers_offline', offline],
      ['cmp_ev_clock', status.clockSynced === null ? '?' : status.clockSynced ? 'OK' : 'NG'],
    ],
    'cmp_basis_health',
  );

  // Lockdown is set on the dashboard only: someone must be able to log in and set it.
  const canLockdown = accounts.filter(
    (u) =>
      u.active &&
      can(u.role, 'doors.mode') &&
      (u.validUntil === null || u.validUntil > now) &&
      users.activationOf(u.id) === undefined,
  ).length;
  item(
    '§8(5)①',
    'cmp_lockdown',
    canLockdown > 0,
    [
      ['cmp_ev_lockdown_doors', status.doors.filter((d) => d.mode === 'lockdown').length],
      ['cmp_ev_lockdown_accounts', canLockdown],
    ],
    'cmp_basis_lockdown',
  );

  items.push(configChangesItem(dash, now));
  items.push(commissioningItem(dash));
  items.push(restoresItem(dash));
  return items;
}

/**
 * §6(1)⑧: the lost reports of the last year, and the badges granted at a door after their report
 * (before the badge was found again): there must be none. One index query per report.
 */
function lostBadgeUse(dash: Dash, now: number): { reports: number; grantedAfter: number } {
  const changes = dash.controller.journal
    .query({ types: ['badge_status_changed'], from: now - 365 * DAY, limit: 10_000 })
    .reverse(); // oldest first
  let reports = 0;
  let grantedAfter = 0;
  for (const [i, row] of changes.entries()) {
    if (dataFields(row).status !== 'lost') continue;
    reports++;
    if (reports > MAX_LOST_CHECKED) continue;
    const badge = String(dataFields(row).badgeId);
    const next = changes.slice(i + 1).find((r) => dataFields(r).badgeId === badge);
    // By seq: a grant in the same millisecond but committed before the report is not after it.
    grantedAfter += dash.index
      .accessSeqs({
        badges: [badge],
        from: row.at,
        ...(next ? { to: next.at + 1 } : {}),
        result: 'granted',
        limit: 1000,
      })
      .filter((e) => e.seq > row.seq && (!next || e.seq < next.seq)).length;
  }
  return { reports, grantedAfter };
}

/**
 * §8(1)① §8(3)②, §4(3): config file changes are journaled at each start and reviewed by a different
 * person. Needs review while any start's access-relevant changes are not acknowledged.
 */
function configChangesItem(dash: Dash, now: number): ComplianceItem {
  const store = new ConfigChangeStore(dash.controller.journal);
  const changed = store.list();
  const pending = changed.filter((c) => c.needsReview).length;
  const [last] = store.list({ all: true, limit: 1 });
  return {
    clause: '§8(1)① §8(3)②',
    requirement: 'cmp_config',
    status: pending === 0 ? 'ok' : 'attention',
    evidence: [
      ['cmp_ev_config_pending', pending],
      [
        'cmp_ev_config_loaded',
        last ? `${formatLocal(last.at, dash.tz)} ${last.sha256 ? last.sha256.slice(0, 12) : '—'}` : '—',
      ],
      ['cmp_ev_config_refused', store.refusedCount(now - 365 * DAY)],
    ],
    link: { href: '/config-changes', label: 'cmp_config_link' },
  };
}

/** §8(3)①ウ: every door commissioned (passed, signed, on this board, wiring unchanged) before it is live. */
function commissioningItem(dash: Dash): ComplianceItem {
  const doors = commissioningOf(dash);
  return {
    clause: '§8(3)①ウ',
    requirement: 'cmp_commissioning',
    status: doors.every((d) => d.state === 'ok') ? 'ok' : 'attention',
    evidence: doors.map((d) => [`com_state_${d.state}`, d.name]),
    link: { href: '/compliance#commissioning', label: 'cmp_commissioning_link' },
  };
}
