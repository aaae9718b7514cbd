/**
 * The one YAML config file, as a zod schema. Every field has a default where a safe one exists;
 * everything else must be given. docs/config.md is the reference and must follow this file.
 */
import { z } from 'zod';
import { DEFAULT_BYTE_BUDGET, withBackOffDefaults } from '../../firmware-bridge/budget.js';
import { UnsynchronisedPolicy } from '../domain/clock.js';
import type { DoorTiming } from '../domain/door.js';
import { ALWAYS_SCHEDULE_ID, type Schedule, scheduleProblems } from '../domain/schedule.js';
import { AntiPassbackMode, EscortExitPolicy } from '../domain/types.js';
import type { VisitRules } from '../domain/visit-settings.js';
import { DASHBOARD_DEFAULTS, DashboardSchema } from './dashboard.js';
import { LEDGER_DEFAULTS, LedgerSchema } from './ledger.js';
import { nutPlainPasswordHost, PowerSchema, powerPins } from './power.js';

/** An integer; a string or fraction is reported as `expected integer`. */
const int = () => z.int({ error: 'expected integer' });
/** Whole milliseconds within [min, max], saying so when out of range. */
const msBetween = (min: number, max: number) =>
  int()
    .min(min, { error: `must be ${min}–${max} ms` })
    .max(max, { error: `must be ${min}–${max} ms` });

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a lower-case id of letters, digits, "-" or "_"');

/** A GPIO input: BCM pin number; `activeLow` when the active state pulls the line to 0 V. */
export const InputPinSchema = z.strictObject({
  pin: int().min(0).max(53),
  activeLow: z.boolean().default(true),
  debounceMs: int().min(0).max(2000).default(50),
});
export type InputPinConfig = z.infer<typeof InputPinSchema>;

export const OutputPinSchema = z.strictObject({
  pin: int().min(0).max(53),
  /** The relay board energises its coil when the pin is driven low. */
  activeLow: z.boolean().default(false),
});
export type OutputPinConfig = z.infer<typeof OutputPinSchema>;

export const LockSchema = OutputPinSchema.extend({
  /**
   * fail-secure: an electric strike, locked without power — energise to unlock.
   * fail-safe: a maglock, unlocked without power — energise to lock.
   */
  failMode: z.enum(['fail-secure', 'fail-safe']),
});
export type LockConfig = z.infer<typeof LockSchema>;

/** The line speeds of OSDP v2.2 (osdp_COMSET); 9600 is every reader's factory setting. */
export const OSDP_BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400] as const;

/** The message for `secure: true` until the Secure Channel exists (docs/readers.md). */
export const OSDP_SECURE_UNSUPPORTED =
  'OSDP Secure Channel is not yet supported by this version: set secure: false to run the reader in plain text (its line is then neither encrypted nor authenticated; see docs/readers.md)';

/** An OSDP reader's place on its RS-485 bus and its supervision (docs/readers.md). */
export const OsdpReaderSchema = z.strictObject({
  /** The reader's address on the bus, 0–126 (127 is broadcast). */
  address: int().min(0).max(126),
  baudRate: int()
    .refine((b) => (OSDP_BAUD_RATES as readonly number[]).includes(b), {
      error: `expected one of ${OSDP_BAUD_RATES.join(', ')}`,
    })
    .default(9600),
  /** Longest time between two polls of the reader (the standard asks for 200 ms at most). */
  pollMs: msBetween(20, 200).default(100),
  /** How long to wait for a reply before sending the same frame again. */
  replyTimeoutMs: msBetween(20, 1000).default(200),
  /** No valid reply for this long: the reader is offline (`reader_offline`). */
  offlineAfterMs: msBetween(1000, 60_000).default(8000),
  /**
   * Required, and only `false` for now: the plain session is chosen knowingly (a warning at every
   * start and in doctor). `true` is refused until the Secure Channel is built.
   */
  secure: z.boolean({
    error: 'osdp.secure is required: false (plain text; Secure Channel is not yet supported)',
  }),
});
export type OsdpReaderConfig = z.infer<typeof OsdpReaderSchema>;

export const ReaderSchema = z.strictObject({
  id,
  /**
   * Serial device, e.g. /dev/ttyAMA0, /dev/serial/by-id/…, or a pty in tests. The word `sim` (only with
   * `board.kind: sim`) makes a reader fed by the simulation API instead of a serial port.
   */
  path: z.string().min(1),
  baudRate: int().positive().default(9600),
  protocol: z.enum(['rdm6300', 'line', 'wiegand-bridge', 'osdp']),
  /** For protocol `osdp` (and only for it): the reader's address, line speed, supervision. */
  osdp: OsdpReaderSchema.optional(),
  /** For protocol `line`: a regular expression a trimmed line must match in full to be a credential. */
  linePattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'not a valid regular expression')
    .default('^[0-9A-Fa-f]{4,32}$'),
  /** The same credential again within this time is the same presentation (RDM6300 repeats every ~50 ms). */
  repeatSuppressMs: int().min(0).max(60_000).default(1000),
  /** Silence longer than this marks a heartbeat-sending reader (wiegand-bridge) offline. 0 = never. */
  offlineAfterMs: int().min(0).default(5000),
  reconnect: z
    .strictObject({
      initialMs: int().positive().default(500),
      maxMs: int().positive().default(30_000),
    })
    .default({ initialMs: 500, maxMs: 30_000 }),
  /**
   * The port's byte budget. A UART receives at most baudRate / 10 bytes/s (8N1); a port delivering
   * more than `factor` times that over `windowMs` is flooding (a pty, a USB-serial adapter with
   * something hostile or broken behind it): its bytes are dropped undecoded, the reader is offline
   * with reason `flood`, and decoding resumes `coolDownMs` after it was last over budget. A flood
   * within `quietMs` of the previous one's end is a repeat: its cool-down doubles, up to
   * `maxCoolDownMs`; `quietMs` within the budget forgives the port (back to `coolDownMs`).
   */
  byteBudget: z
    .strictObject({
      /** ≥ 1.2: a UART with the shortest framing (7N1, 9 bits a byte) still stays under. */
      factor: z.number().min(1.2).max(100_000).default(DEFAULT_BYTE_BUDGET.factor),
      windowMs: msBetween(100, 60_000).default(DEFAULT_BYTE_BUDGET.windowMs),
      coolDownMs: msBetween(100, 600_000).default(DEFAULT_BYTE_BUDGET.coolDownMs),
      /** The longest cool-down (≥ coolDownMs). Default 300 000, or coolDownMs if that is longer. */
      maxCoolDownMs: msBetween(100, 3_600_000).optional(),
      /** 0: no back-off, every flood is its own incident (and alarm). */
      quietMs: msBetween(0, 86_400_000).default(DEFAULT_BYTE_BUDGET.quietMs),
    })
    .superRefine((b, ctx) => {
      if (b.maxCoolDownMs !== undefined && b.maxCoolDownMs < b.coolDownMs)
        ctx.addIssue({
          code: 'custom',
          path: ['maxCoolDownMs'],
          message: `${b.maxCoolDownMs} is shorter than coolDownMs (${b.coolDownMs}): it is the longest cool-down, coolDownMs the first`,
        });
    })
    .transform(withBackOffDefaults)
    .default({ ...DEFAULT_BYTE_BUDGET }),
});
export type ReaderConfig = z.infer<typeof ReaderSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'expected HH:MM');

export const ScheduleSchema = z.strictObject({
  id,
  name: z.string().optional(),
  /** Weekly windows in the site's time zone. `days` 0 = Sunday … 6 = Saturday. */
  windows: z.array(z.strictObject({ days: z.array(int().min(0).max(6)).min(1), from: hhmm, to: hhmm })),
  /** Whether the windows apply on holidays too (false: no access on a holiday). */
  includeHolidays: z.boolean().default(false),
  /** Every time is allowed (the windows are ignored). */
  always: z.boolean().default(false),
}) satisfies z.ZodType<Schedule>;
export type ScheduleConfig = z.infer<typeof ScheduleSchema>;

export const DoorSchema = z.strictObject({
  id,
  name: z.string().min(1),
  entryReader: id,
  exitReader: id.optional(),
  exitButton: InputPinSchema.optional(),
  contact: InputPinSchema,
  lock: LockSchema,
  buzzer: OutputPinSchema.optional(),
  tamper: InputPinSchema.optional(),
  /** How long the lock stays open after a grant or exit request when the door is not opened. */
  unlockMs: int().min(500).max(120_000).default(5000),
  /** An open door after a grant longer than this raises `held_open`. */
  heldOpenMs: int().min(1000).max(3_600_000).default(30_000),
  /** The buzzer warns this long before `held_open` is raised. 0 = no pre-alarm. */
  preAlarmMs: int().min(0).max(3_600_000).default(10_000),
  /** Relock as soon as the door closes again after a grant, instead of waiting for unlockMs. */
  relockOnClose: z.boolean().default(true),
  /**
   * true: no badge opens the door until a passed, signed `door_commissioned` record for its current
   * wiring exists (controller/commission/state.ts). Absent = false, so that an upgrade never bars a
   * door that works today; the Raspberry Pi example sets it (docs/config.md argues the default).
   */
  requireCommissioning: z.boolean().optional(),
}) satisfies z.ZodType<DoorTiming>;
export type DoorConfig = z.infer<typeof DoorSchema>;

/** Why a broker URL cannot be used, or null. Credentials belong in `username` / `passwordFile`. */
function brokerUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.hostname === '') return 'needs a host, e.g. mqtt://broker.example:1883';
  if (u.username !== '' || u.password !== '')
    return 'must not contain a user name or password (use username and passwordFile)';
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '')
    return 'must be just mqtt[s]://host[:port]';
  return null;
}

/**
 * Whether a host name or address is this device: `localhost`, 127.0.0.0/8 or ::1 (also as an
 * IPv4-mapped address). Anything else, even on the LAN, is another host.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = h.replace(/^::ffff:/, '');
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/**
 * The host a broker password would travel to in clear text (a password over `mqtt://` to a host
 * that is not this device), or null.
 */
export function plainPasswordHost(m: { url: string; passwordFile?: string | undefined }): string | null {
  if (m.passwordFile === undefined || !m.url.startsWith('mqtt://')) return null;
  const host = new URL(m.url).hostname;
  return isLoopbackHost(host) ? null : host.replace(/^\[|\]$/g, '');
}

/** A plain MQTT topic: no wildcards, no empty levels, not starting with `$`. */
function topicProblem(topic: string): string | null {
  if (/[+#\0]/.test(topic)) return 'must not contain the wildcards "+" or "#"';
  if (topic.startsWith('$')) return 'must not start with "$" (reserved for the broker)';
  if (topic.split('/').some((level) => level.length === 0))
    return 'must not start or end with "/" or contain "//"';
  return null;
}

const topicName = z
  .string()
  .min(1)
  .max(200)
  .superRefine((t, ctx) => {
    const problem = topicProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const MqttSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^mqtts?$/, error: 'expected an mqtt:// or mqtts:// URL' })
      .superRefine((u, ctx) => {
        const problem = brokerUrlProblem(u);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** Default `sekisho/<controller.id>`. */
    baseTopic: topicName.optional(),
    /** Default `sekisho-<controller.id>`. Must be unique on the broker. */
    clientId: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 visible ASCII characters')
      .optional(),
    username: z.string().min(1).optional(),
    /**
     * Read from this file at start, never written in the config itself: a secret file that root
     * or the service user owns and only the service's group may read (0600, or 0640 root:sekisho).
     */
    passwordFile: z.string().min(1).optional(),
    /**
     * Send the password over plain `mqtt://` to a broker on another host anyway (anyone on the
     * network path can read it). Default false: such a config is refused. Warned at every start
     * and by `sekisho doctor` even when allowed.
     */
    allowPlainPassword: z.boolean().default(false),
    /** PEM files for mqtts://: the CA that signed the broker's certificate, a client certificate and key. */
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    keepaliveS: int().min(5).max(3600).default(30),
    /** Wait between connection attempts while the broker is unreachable. */
    reconnectS: int().min(1).max(300).default(5),
    /**
     * At most this many journal rows wait in the outbox; beyond it only alarm rows are queued
     * (docs/mqtt.md, "Backlog"). The journal itself always keeps every row.
     */
    maxBacklog: int().min(1_000_000).max(100_000_000).default(1_000_000),
    /** Re-publish the status and the active alarms this often (heartbeat and re-announcement). */
    heartbeatS: int().min(10).max(3600).default(60),
    /**
     * At start, wait at most this long for the checkpoint retained on the broker before the first
     * row, doors secured (docs/journal.md, "The start check"). 0: do not wait (checked later).
     */
    headWaitS: int().min(0).max(120).default(5),
    /** Home Assistant MQTT discovery of each door's contact, lock and alarm. */
    homeAssistant: z
      .strictObject({
        enabled: z.boolean().default(true),
        discoveryPrefix: topicName.default('homeassistant'),
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.cert === undefined) !== (m.key === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [m.cert === undefined ? 'cert' : 'key'],
        message: 'cert and key go together (a client certificate and its private key)',
      });
    if (m.url.startsWith('mqtt://'))
      for (const k of ['ca', 'cert', 'key'] as const)
        if (m[k] !== undefined)
          ctx.addIssue({ code: 'custom', path: [k], message: 'TLS files need an mqtts:// url' });
    if (m.passwordFile !== undefined && m.username === undefined)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'passwordFile needs a username' });
    const exposedTo = plainPasswordHost(m);
    if (exposedTo !== null && !m.allowPlainPassword)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          `mqtt:// would send the broker password in clear text to ${exposedTo}, which is not this device: ` +
          'use mqtts:// (with mqtt.ca), or set mqtt.allowPlainPassword: true to accept that anyone on the network path can read it',
      });
  });
export type MqttConfig = z.infer<typeof MqttSchema>;

/** A time of day for a daily event, 00:00–23:59 (unlike schedule windows, 24:00 is not allowed). */
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM between 00:00 and 23:59');

/**
 * Visitors, escorts and who is inside (docs/visitors.md). Who may escort is data in the registry
 * (`mayEscort`), not configuration.
 */
export const VisitorsSchema = z.strictObject({
  /** A visitor's badge and their escort's badge must be presented within this time, in either order. */
  escortWindowS: int().min(3).max(120).default(15),
  /** How many visitors one escort may have inside at once. */
  maxVisitorsPerEscort: int().min(1).max(20).default(3),
  /** An escort badging out while their visitors are inside: refused, or let out with a `visitor_unescorted` alarm. */
  escortExit: EscortExitPolicy.default('refuse'),
  /**
   * For this long after an escort's exit was refused, another escort's badge at the inside reader
   * offers to take their visitors over (a hand-over) instead of letting that escort out.
   */
  handoverWindowS: int().min(15).max(3600).default(300),
  antiPassback: z
    .strictObject({
      /** off; soft = record the violation and grant; hard = deny. */
      mode: AntiPassbackMode.default('soft'),
      /** A violation is forgiven when the person's last recorded passage is older than this. */
      forgiveAfterS: int()
        .min(0)
        .max(7 * 86_400)
        .default(3600),
    })
    .default({ mode: 'soft', forgiveAfterS: 3600 }),
  /** When the room becomes empty, the door must be closed and locked within this time, else `room_unsecured`. */
  roomSecureS: int().min(5).max(3600).default(60),
  /** Local time of the daily end-of-day report (who is still inside, unreturned visitor badges). */
  endOfDay: timeOfDay.default('19:00'),
  /**
   * A visitor badge issued without an explicit end is valid until: `end_of_day` = the `endOfDay` time
   * of the issue day (midnight if issued after it); `{ hours: N }` = N hours after issue.
   */
  badgeValidity: z
    .union([z.literal('end_of_day'), z.strictObject({ hours: int().min(1).max(72) })])
    .default('end_of_day'),
}) satisfies z.ZodType<VisitRules>;
export type VisitorsConfig = z.infer<typeof VisitorsSchema>;

export const VISITORS_DEFAULTS: VisitorsConfig = VisitorsSchema.parse({});

/** The clock: its steps, its sync state, and the decisions while it is not synchronised (docs/config.md#clock). */
export const ClockSchema = z.strictObject({
  /** Which entry grants are still given while the clock is not known to be synchronised (domain/clock.ts). */
  whenUnsynchronised: UnsynchronisedPolicy.default('normal'),
  /** A wall-clock move this much beyond the monotonic clock's between two looks is a step (`clock_adjusted`). */
  stepThresholdMs: int().min(500).max(3_600_000).default(2000),
  /** How often the sync state is asked (timedatectl, in the background). */
  syncCheckS: int().min(1).max(3600).default(10),
});
export type ClockConfig = z.infer<typeof ClockSchema>;

export const CLOCK_DEFAULTS: ClockConfig = ClockSchema.parse({});

const ONE_TO_ALL = 'must be 1–10000 or "all"';
export const BackupSchema = z.strictObject({
  /**
   * After a verified new backup, remove the oldest of this controller's backups in the same folder
   * so that this many remain (the new one among them); `all` removes nothing.
   */
  keep: z
    .union([int().min(1, { error: ONE_TO_ALL }).max(10_000, { error: ONE_TO_ALL }), z.literal('all')], {
      error: 'expected a number of backups (1–10000) or "all"',
    })
    .default(14),
});
export type BackupConfig = z.infer<typeof BackupSchema>;
export const BACKUP_DEFAULTS: BackupConfig = { keep: 14 };

const BOARD_CHOICE =
  'write "board: { kind: rpi }" for the Raspberry Pi\'s GPIO pins, or "board: { kind: sim }" to simulate the doors (docs/simulation.md)';
/** zod error callbacks: a message of our own only when the key is missing, zod's otherwise. */
const BOARD_MISSING = (iss: { input?: unknown }) =>
  iss.input == null ? `required: there is no default board; ${BOARD_CHOICE}` : undefined;
const BOARD_KIND_MISSING = (iss: { input?: unknown }) =>
  iss.input === undefined ? `required: ${BOARD_CHOICE}` : 'expected "rpi" or "sim"';

export const ConfigSchema = z
  .strictObject({
    site: z.strictObject({ id, name: z.string().min(1) }),
    controller: z.strictObject({ id }),
    timeZone: z
      .string()
      .default('Asia/Tokyo')
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'unknown IANA time zone'),
    storage: z.strictObject({
      /** Folder holding journal.db and device secrets; relative paths are relative to the config file. */
      path: z.string().min(1),
      /**
       * Raise `storage_low` when the free space of the storage's file system falls below this
       * (docs/operations.md, "Free space and backup generations"); checked every lowSpaceCheckS.
       */
      lowSpaceMiB: int()
        .min(32, { error: 'must be 32–16777216 MiB' })
        .max(16_777_216, { error: 'must be 32–16777216 MiB' })
        .default(1024),
      lowSpaceCheckS: int()
        .min(5, { error: 'must be 5–3600 s' })
        .max(3600, { error: 'must be 5–3600 s' })
        .default(60),
      retentionYears: int().min(5).max(100).default(5),
      /**
       * The checkpoint cadence (docs/journal.md): a signed checkpoint inside the commit that makes
       * `checkpointEveryRows` rows since the last one, or that comes `checkpointEveryS` seconds after
       * it; a timer signs what a quiet spell left unsigned. Rows a crash can leave unsigned: fewer than
       * `checkpointEveryRows`, none older than `checkpointEveryS` seconds.
       */
      checkpointEveryS: int().min(1).max(86_400).default(5),
      checkpointEveryRows: int().min(1).max(100_000).default(64),
      /** A signed snapshot of the derived state (a cache that shortens the start) at this interval. */
      snapshotEveryS: int().min(10).max(86_400).default(300),
      /**
       * Copy the write-ahead log into journal.db once it holds this many pages not yet copied and
       * the controller is idle (twice this many: at once); 0: every 500 ms, whatever it holds.
       * controller/journal/wal-checkpointer.ts.
       */
      walCheckpointPages: int().min(0).max(100_000).default(1000),
    }),
    /** `sekisho backup`: the generations kept in the folder a new backup is written to. */
    backup: BackupSchema.default(BACKUP_DEFAULTS),
    /** Listener, TLS, proxy, names (controller/config/dashboard.ts). */
    dashboard: DashboardSchema.default(DASHBOARD_DEFAULTS),
    mqtt: MqttSchema.optional(),
    /**
     * Required: a config that forgot its board must not quietly become a simulation, with demo
     * accounts and simulation routes, on a device that drives a real door.
     */
    board: z.strictObject(
      {
        kind: z.enum(['sim', 'rpi'], { error: BOARD_KIND_MISSING }),
        /** gpiochip labels to look for, in order; the BCM pin is added to the chip's base. */
        chipLabels: z.array(z.string()).default(['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835']),
      },
      { error: BOARD_MISSING },
    ),
    /** Holidays as local dates, YYYY-MM-DD. */
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')).default([]),
    schedules: z.array(ScheduleSchema).default([]),
    readers: z.array(ReaderSchema).min(1),
    doors: z.array(DoorSchema).min(1),
    /** Visitors, escorts, presence, anti-passback, room secured, end of day (docs/visitors.md). */
    visitors: VisitorsSchema.default(VISITORS_DEFAULTS),
    /** Clock steps, sync state and the unsynchronised-clock policy (docs/config.md#clock). */
    clock: ClockSchema.default(CLOCK_DEFAULTS),
    /** The power-fail input: a UPS contact on GPIO or NUT's upsd (controller/config/power.ts). */
    power: PowerSchema.optional(),
    /**
     * `sekisho upgrade`: the release public key (PEM file; relative to the config file) whose
     * signature an artefact must carry (docs/operations.md, "Upgrades"). Absent: upgrades refused.
     */
    upgrade: z.strictObject({ releaseKey: z.string().min(1) }).optional(),
    /** The printed 入退室管理簿: approval seals, era dates (controller/config/ledger.ts). */
    ledger: LedgerSchema.default(LEDGER_DEFAULTS),
    /** Simulation only: seed these demo people and badges on first start. */
    demo: z.strictObject({ seed: z.boolean().default(false) }).default({ seed: false }),
  })
  .superRefine((cfg, ctx) => {
    const readers = new Set(cfg.readers.map((r) => r.id));
    const dup = (list: { id: string }[], key: string) => {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        if (seen.has(x.id))
          ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id "${x.id}"` });
        seen.add(x.id);
      });
    };
    dup(cfg.readers, 'readers');
    dup(cfg.doors, 'doors');
    dup(cfg.schedules, 'schedules');
    cfg.schedules.forEach((sch, i) => {
      if (sch.id === ALWAYS_SCHEDULE_ID)
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', i, 'id'],
          message: `"${ALWAYS_SCHEDULE_ID}" is the built-in schedule (every day, all day); choose another id`,
        });
    });
    const usedReaders = new Map<string, string>();
    cfg.doors.forEach((d, i) => {
      for (const key of ['entryReader', 'exitReader'] as const) {
        const r = d[key];
        if (r === undefined) continue;
        if (!readers.has(r))
          ctx.addIssue({ code: 'custom', path: ['doors', i, key], message: `no reader with id "${r}"` });
        else if (usedReaders.has(r))
          ctx.addIssue({
            code: 'custom',
            path: ['doors', i, key],
            message: `reader "${r}" is already used as ${usedReaders.get(r)}`,
          });
        usedReaders.set(r, `${d.id}.${key}`);
      }
    });
    cfg.schedules.forEach((sch, i) => {
      for (const problem of scheduleProblems(sch))
        ctx.addIssue({ code: 'custom', path: ['schedules', i], message: problem });
    });
    checkOsdpReaders(cfg.readers, ctx);
    cfg.readers.forEach((r, i) => {
      if (r.path === 'sim' && cfg.board.kind !== 'sim')
        ctx.addIssue({
          code: 'custom',
          path: ['readers', i, 'path'],
          message: 'a simulated reader ("sim") needs board.kind: sim',
        });
    });
    // One physical pin serves one purpose.
    const pins = new Map<number, string>();
    cfg.doors.forEach((d, i) => {
      for (const key of ['contact', 'lock', 'exitButton', 'buzzer', 'tamper'] as const) {
        const p = d[key];
        if (!p) continue;
        const other = pins.get(p.pin);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: ['doors', i, key, 'pin'],
            message: `GPIO ${p.pin} is already used by ${other}`,
          });
        pins.set(p.pin, `doors[${i}].${key}`);
      }
    });
    for (const { key, pin } of powerPins(cfg.power)) {
      const other = pins.get(pin);
      if (other)
        ctx.addIssue({
          code: 'custom',
          path: ['power', 'gpio', key, 'pin'],
          message: `GPIO ${pin} is already used by ${other}`,
        });
    }
    const nutExposedTo = nutPlainPasswordHost(cfg.power?.nut, isLoopbackHost);
    if (nutExposedTo !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'nut', 'host'],
        message: `NUT would send the password in clear text to ${nutExposedTo}, which is not this device: run upsd on the Pi, or set power.nut.allowPlainPassword: true to accept that anyone on the network path can read it`,
      });
  });
export type Config = z.infer<typeof ConfigSchema>;

/**
 * OSDP readers: the `osdp` block with (and only with) protocol osdp, `secure: true` refused for now,
 * and one RS-485 bus per serial path: the readers sharing a path are all OSDP, at distinct addresses
 * and one line speed. (Other protocols keep one reader a port, as before; not checked here.)
 */
function checkOsdpReaders(readers: ReaderConfig[], ctx: z.RefinementCtx): void {
  const buses = new Map<string, { index: number; address: number; baudRate: number }[]>();
  readers.forEach((r, i) => {
    if (r.protocol !== 'osdp') {
      if (r.osdp)
        ctx.addIssue({ code: 'custom', path: ['readers', i, 'osdp'], message: 'only for protocol: osdp' });
      return;
    }
    if (!r.osdp) {
      ctx.addIssue({
        code: 'custom',
        path: ['readers', i, 'osdp'],
        message: 'protocol osdp needs an osdp block: { address, secure: false } at least',
      });
      return;
    }
    if (r.osdp.secure)
      ctx.addIssue({
        code: 'custom',
        path: ['readers', i, 'osdp', 'secure'],
        message: OSDP_SECURE_UNSUPPORTED,
      });
    if (r.path === 'sim') return;
    const list = buses.get(r.path) ?? [];
    list.push({ index: i, address: r.osdp.address, baudRate: r.osdp.baudRate });
    buses.set(r.path, list);
  });
  readers.forEach((r, i) => {
    if (r.protocol !== 'osdp' && buses.has(r.path))
      ctx.addIssue({
        code: 'custom',
        path: ['readers', i, 'path'],
        message: `${r.path} is an OSDP bus; a ${r.protocol} reader needs a port of its own`,
      });
  });
  for (const [path, list] of buses) {
    const seen = new Map<number, number>();
    for (const { index, address, baudRate } of list) {
      const other = seen.get(address);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['readers', index, 'osdp', 'address'],
          message: `address ${address} on ${path} is already readers[${other}]'s: readers on one bus need distinct addresses`,
        });
      else seen.set(address, index);
      if (baudRate !== list[0]!.baudRate)
        ctx.addIssue({
          code: 'custom',
          path: ['readers', index, 'osdp', 'baudRate'],
          message: `${path} runs at ${list[0]!.baudRate} baud (readers[${list[0]!.index}]): one bus has one line speed`,
        });
    }
  }
}
