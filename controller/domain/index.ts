/**
 * The domain's public face: the vocabulary and the pure rules. Other folders import only this.
 * No I/O, no clock reads, no randomness: time is always passed in as UTC ms.
 */

export { type Decision, type DecisionInput, decide } from './access.js';
export {
  type ActiveAlarm,
  type AlarmAck,
  type AlarmRaise,
  type AlarmState,
  alarmSeverity,
  alarmsAwaitingClear,
  applyAlarmAcknowledged,
  applyAlarmConditionCleared,
  applyAlarmRaised,
  DEFAULT_ALARM_SEVERITY,
  emptyAlarmState,
  findActiveAlarm,
  listActiveAlarms,
  openConditions,
  VISIT_ALARM_SEVERITY,
} from './alarms.js';
export {
  type ClockReading,
  type ClockStep,
  type ClockTrust,
  clockRestriction,
  clockStep,
  shiftDoorState,
  UnsynchronisedPolicy,
} from './clock.js';
export {
  type ContactState,
  DOOR_TAMPER_SEVERITY,
  type DoorAction,
  type DoorEvent,
  type DoorRecordAction,
  type DoorRestore,
  type DoorState,
  type DoorStep,
  type DoorTiming,
  doorTiming,
  FORCED_OPEN_SEVERITY,
  HELD_OPEN_SEVERITY,
  type HeldStage,
  initialDoorState,
  nextDeadline,
  stepDoor,
} from './door.js';
export {
  DerivedSnapshot,
  type DerivedState,
  doorMode,
  foldRow,
  foldRows,
  initialDerivedState,
  type PresenceEntry,
  restoreDerivedState,
  snapshotDerivedState,
  whoIsInside,
} from './fold.js';
export { atLocalMinute, endOfLocalDay, localTimeOn, nextLocalTime } from './local-day.js';
export {
  gpioReading,
  initialPowerState,
  type PowerAction,
  type PowerEvent,
  type PowerReading,
  type PowerSettings,
  type PowerState,
  parseUpsStatus,
  powerDeadline,
  printable,
  stepPower,
} from './power.js';
export {
  READER_STARTING,
  type ReaderCondition,
  type ReaderFloodEpisode,
  type ReaderReport,
  type ReaderStep,
  stepReader,
} from './reader-alarm.js';
export * from './records.js';
export {
  ALWAYS_SCHEDULE_ID,
  isWithinSchedule,
  type LocalTime,
  localDate,
  localTime,
  parseTimeOfDay,
  type Schedule,
  type ScheduleWindow,
  scheduleProblems,
} from './schedule.js';
export {
  formatMiB,
  MIB,
  MIN_CLEAR_MARGIN_MIB,
  type SpaceLimits,
  type SpaceReading,
  type SpaceStep,
  spaceLimits,
  stepStorageSpace,
} from './storage-space.js';
export {
  codePointText,
  findUnsafeChar,
  nameField,
  normaliseName,
  type UnsafeChar,
  type UnsafeCharKind,
  unsafeCharMessage,
  unsafeKind,
  visibleText,
} from './text.js';
export * from './types.js';
export {
  type BadgeValidity,
  defaultVisitorBadgeUntil,
  type VisitRules,
  type VisitSettings,
  visitSettings,
} from './visit-settings.js';
export type {
  EscortWindow,
  HandoverOffer,
  PendingVisitor,
  RoomContact,
  RoomLock,
  RoomState,
  VisitorBadgeInfo,
  VisitsState,
} from './visit-state.js';
export {
  type PresenceView,
  pendingVisitors,
  presenceView,
  type RoomStatus,
  roomStatus,
  unreturnedVisitorBadges,
} from './visit-views.js';
export * from './visitor-requests.js';
export {
  nextVisitDeadline,
  stepVisits,
  type VisitAction,
  type VisitEvent,
  type VisitPerson,
  type VisitRecordInput,
  type VisitStep,
} from './visits.js';
