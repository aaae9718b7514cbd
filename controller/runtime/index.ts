export type { AccessOutcome, ControllerOptions, ControllerStatus } from './controller.js';
export { Controller } from './controller.js';
export type { DoorStatus } from './doors.js';
