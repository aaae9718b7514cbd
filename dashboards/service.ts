/**
 * What the dashboard uses of the controller: a narrow view built from the Controller's public
 * members. The dashboard never reaches into the door's state machine; it reads status and the
 * journal, and changes things only through these methods and the registry (whose every change is
 * a journal row with its actor).
 */
import type { Controller } from '../controller/runtime/index.js';

export type DashboardController = Pick<
  Controller,
  | 'config'
  | 'log'
  | 'now'
  | 'db'
  | 'journal'
  | 'registry'
  | 'secrets'
  | 'board'
  | 'storageDir'
  /** The derived state (presence with escorts, visits), read only, through the domain's views. */
  | 'derived'
  | 'status'
  | 'activeAlarms'
  | 'acknowledgeAlarm'
  /** The break-glass alarm (controller/approvals/break-glass.ts): raised on use, cleared on review. */
  | 'raiseAlarm'
  | 'clearAlarmCondition'
  | 'setMode'
  | 'reconcilePresence'
  | 'simulateBadge'
  | 'onRow'
  | 'walRoom'
>;
