/**
 * The domain's vocabularies as the dashboard's schemas use them, derived from the domain's zod
 * enums (and the codecs' list of credential formats) rather than spelled out again, so that a value
 * added there reaches the dashboard's filters, forms and request checks.
 */
import { z } from 'zod';
import { AccessRecord, AlarmType, PersonCategory } from '../controller/domain/index.js';
import { CREDENTIAL_FORMATS } from '../firmware-bridge/index.js';

/** The `result` of an access row. */
export const AccessResult = AccessRecord.shape.result;
export type AccessResult = z.infer<typeof AccessResult>;

/** The formats a reader's codec produces (a simulated badge names one). */
export const CredentialFormat = z.enum(CREDENTIAL_FORMATS);

/** What an enrolment accepts: a codec's format, or `auto` (recognised from the number as printed). */
export const EnrolFormat = z.enum(['auto', ...CREDENTIAL_FORMATS]);

/** The people added on the People page; visitors come only through a visitor-badge request. */
export const EnrolledCategory = PersonCategory.exclude(['visitor']);

/** The door alarms of the reports' "forced and held doors". */
export const DoorAlarmType = AlarmType.extract(['forced_open', 'held_open']);
