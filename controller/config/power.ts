/**
 * `power:` — the power-fail input (policy §7(3)③): a UPS's signal on GPIO through the board, or
 * NUT's upsd over its network protocol. docs/config.md ("Power failure input") is the reference.
 */
import { z } from 'zod';

const int = () => z.int({ error: 'expected integer' });

/** A UPS signal on a GPIO input: like a door input, with a longer debounce allowed (mains flicker). */
const PowerPinSchema = z.strictObject({
  pin: int().min(0).max(53),
  /** true when "on battery" (or "battery low") pulls the line to 0 V — an opto-isolator's output. */
  activeLow: z.boolean().default(true),
  debounceMs: int().min(0).max(10_000).default(200),
});
export type PowerPinConfig = z.infer<typeof PowerPinSchema>;

/** A NUT UPS name as upsd.conf/ups.conf allow it. */
const upsName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'expected the UPS name of ups.conf (letters, digits, ".", "_", "-")',
  );

export const NutSchema = z
  .strictObject({
    /** upsd's address. */
    host: z.string().min(1).default('127.0.0.1'),
    port: int().min(1).max(65_535).default(3493),
    /** The UPS's name in ups.conf (`GET VAR <ups> ups.status`). */
    ups: upsName,
    /** An upsd.users account with `upsmon secondary`: the controller LOGINs to the UPS as upsmon does. */
    username: z
      .string()
      .regex(/^[\x21-\x7e]{1,64}$/, 'expected 1-64 visible ASCII characters')
      .optional(),
    /** Its password, read from this file at start (the secret-file rule, like mqtt.passwordFile). */
    passwordFile: z.string().min(1).optional(),
    /** NUT's protocol has no encryption here: a password to another host needs this (and is warned). */
    allowPlainPassword: z.boolean().default(false),
    /** How often upsd is asked for the status. */
    pollS: int().min(1).max(60).default(2),
    /** A reply slower than this counts as a lost connection. */
    timeoutS: int().min(1).max(60).default(5),
    /**
     * A lost connection to upsd: `report` (an alarm and a row; the doors keep working) or `failing`
     * (taken as on battery: the grace time runs, then the controller shuts down).
     */
    onLost: z.enum(['report', 'failing']).default('report'),
  })
  .superRefine((n, ctx) => {
    if (n.passwordFile !== undefined && n.username === undefined)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'passwordFile needs a username' });
    if (n.username !== undefined && n.passwordFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'username needs a passwordFile' });
  });
export type NutConfig = z.infer<typeof NutSchema>;

export const PowerSchema = z
  .strictObject({
    /**
     * Seconds on battery before the controller acts (secures the doors, journals `power_failing`
     * and shuts down). A low battery or a forced shutdown acts at once. 0 = act at once.
     */
    graceS: int().min(0).max(3600).default(60),
    /**
     * Run after the clean stop, as the service user, e.g. ["/usr/bin/systemctl", "poweroff"]. Given
     * as an argument list (no shell). Absent: the controller stops and exits, the system stays up.
     */
    shutdownCommand: z
      .array(z.string().min(1))
      .min(1)
      .refine((argv) => argv[0]!.startsWith('/'), 'the program must be an absolute path')
      .optional(),
    /** How long the shutdown command may take before it is killed. */
    shutdownTimeoutS: int().min(1).max(600).default(60),
    gpio: z
      .strictObject({
        /** The UPS's "on battery" (mains failed) contact. */
        onBattery: PowerPinSchema,
        /** The UPS's "battery low" contact, if it has one: acts at once. */
        lowBattery: PowerPinSchema.optional(),
      })
      .optional(),
    nut: NutSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.gpio === undefined) === (p.nut === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          p.gpio === undefined
            ? 'needs a source: power.gpio (a UPS contact on a GPIO pin) or power.nut (upsd)'
            : 'power.gpio and power.nut are exclusive: give one source',
      });
    if (p.gpio?.lowBattery && p.gpio.lowBattery.pin === p.gpio.onBattery.pin)
      ctx.addIssue({
        code: 'custom',
        path: ['gpio', 'lowBattery', 'pin'],
        message: `GPIO ${p.gpio.onBattery.pin} is already used by power.gpio.onBattery`,
      });
  });
export type PowerConfig = z.infer<typeof PowerSchema>;

/** The host a NUT password would travel to in clear text (not this device), or null. */
export function nutPlainPasswordHost(
  n: NutConfig | undefined,
  isLoopback: (host: string) => boolean,
): string | null {
  if (n?.passwordFile === undefined || n.allowPlainPassword || isLoopback(n.host)) return null;
  return n.host;
}

/** The GPIO pins `power.gpio` claims, by config key (for the one-pin-one-purpose check). */
export function powerPins(p: PowerConfig | undefined): { key: 'onBattery' | 'lowBattery'; pin: number }[] {
  if (!p?.gpio) return [];
  return [
    { key: 'onBattery', pin: p.gpio.onBattery.pin },
    ...(p.gpio.lowBattery ? [{ key: 'lowBattery' as const, pin: p.gpio.lowBattery.pin }] : []),
  ];
}
