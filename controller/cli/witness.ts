/**
 * `sekisho witness …` (the long-running off-device subscriber) and `sekisho witness --check`
 * (check a history file's own chain). Flags, or a small YAML file of the witness's own given with
 * `--config` (never the controller's config: the witness runs on another machine). Flags win over
 * the file. docs/journal.md, "The witness"; docs/operations.md for installing it.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { publicKeyId } from '../journal/index.js';
import { createLogger } from '../log.js';
import { sekishoVersion } from '../system.js';
import { HistoryError, loadHistoryFile } from '../witness/history.js';
import { startWitness, WITNESS_EXIT, WitnessSetupError } from '../witness/witness.js';
import { devicePublicKeyFrom, UsageError } from './common.js';
import { EXIT_OK } from './exit-codes.js';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');
const topicPrefix = z
  .string()
  .min(1)
  .max(150)
  .refine((t) => !/[+#\0]/.test(t) && !t.startsWith('$') && !t.split('/').some((l) => l === ''), {
    message: 'a plain topic: no wildcards, no empty levels, not starting with $',
  });

/** The witness's own YAML file: the same settings as the flags. */
export const WitnessFile = z.strictObject({
  broker: z.string().optional(),
  topicPrefix: topicPrefix.optional(),
  controller: id.optional(),
  publicKey: z.string().optional(),
  history: z.string().optional(),
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  username: z.string().min(1).optional(),
  passwordFile: z.string().optional(),
  clientId: z.string().min(1).max(128).optional(),
  exitOnAlarm: z.boolean().optional(),
});
type WitnessFile = z.infer<typeof WitnessFile>;

function readWitnessFile(file: string): WitnessFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text) ?? {};
  } catch (err) {
    throw new UsageError(`--config: ${file} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value !== null && typeof value === 'object' && 'storage' in value && 'doors' in value)
    throw new UsageError(
      `--config: ${file} is a controller's config; the witness takes its own small file (docs/journal.md, "The witness")`,
    );
  const r = WitnessFile.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UsageError(`--config: ${file}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  // Paths in the file are relative to the file.
  const dir = dirname(resolve(file));
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(dir, p));
  const f = r.data;
  return {
    ...f,
    publicKey: abs(f.publicKey),
    history: abs(f.history),
    ca: abs(f.ca),
    cert: abs(f.cert),
    key: abs(f.key),
    passwordFile: abs(f.passwordFile),
  };
}

export async function witnessCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      broker: { type: 'string' },
      'topic-prefix': { type: 'string' },
      controller: { type: 'string' },
      'public-key': { type: 'string' },
      history: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      'client-id': { type: 'string' },
      'exit-on-alarm': { type: 'boolean' },
      check: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`sekisho witness takes no argument "${positionals[0]}"`);
  const file = values.config === undefined ? {} : readWitnessFile(values.config);
  const history = values.history ?? file.history;
  if (!history) throw new UsageError('missing --history FILE');
  if (values.check) return checkCommand(history, values['public-key'] ?? file.publicKey, values.json);

  const need = (v: string | undefined, flag: string) => {
    if (v === undefined || v === '') throw new UsageError(`missing --${flag}`);
    return v;
  };
  const controller = need(values.controller ?? file.controller, 'controller');
  const c = id.safeParse(controller);
  if (!c.success) throw new UsageError(`--controller: ${c.error.issues[0]!.message}`);
  const prefix = values['topic-prefix'] ?? file.topicPrefix ?? 'sekisho';
  const p = topicPrefix.safeParse(prefix);
  if (!p.success) throw new UsageError(`--topic-prefix: ${p.error.issues[0]!.message}`);
  const log = createLogger();
  let running: ReturnType<typeof startWitness>;
  try {
    running = startWitness(
      {
        broker: need(values.broker ?? file.broker, 'broker'),
        topicPrefix: prefix,
        controller,
        publicKey: devicePublicKeyFrom(need(values['public-key'] ?? file.publicKey, 'public-key')),
        history: resolve(history),
        ca: values.ca ?? file.ca,
        cert: values.cert ?? file.cert,
        key: values.key ?? file.key,
        username: values.username ?? file.username,
        passwordFile: values['password-file'] ?? file.passwordFile,
        clientId: values['client-id'] ?? file.clientId ?? `sekisho-witness-${controller}`,
        exitOnAlarm: values['exit-on-alarm'] ?? file.exitOnAlarm ?? false,
      },
      log,
      sekishoVersion(),
    );
  } catch (err) {
    if (err instanceof WitnessSetupError) {
      process.stderr.write(`sekisho witness: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  const onSignal = (sig: string) => () => running.stop(sig);
  const term = onSignal('SIGTERM');
  const int = onSignal('SIGINT');
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  try {
    return await running.done;
  } finally {
    process.off('SIGTERM', term);
    process.off('SIGINT', int);
  }
}

/** `sekisho witness --check --history FILE [--public-key PEM]`: the history's own chain, and a summary. */
function checkCommand(history: string, keyFile: string | undefined, json: boolean | undefined): number {
  const key = keyFile === undefined ? undefined : devicePublicKeyFrom(keyFile);
  let h: ReturnType<typeof loadHistoryFile>;
  try {
    h = loadHistoryFile(history);
  } catch (err) {
    if (!(err instanceof HistoryError)) throw err;
    if (json)
      process.stdout.write(`${JSON.stringify({ ok: false, problem: err.message, line: err.line })}\n`);
    else process.stdout.write(`WITNESS HISTORY NOT INTACT: ${err.message}\n`);
    return WITNESS_EXIT.history;
  }
  const keyMatches = key === undefined ? null : publicKeyId(key) === h.header.keyId;
  const summary = {
    ok: keyMatches !== false,
    lines: h.lines,
    lastLineSha256: h.lastHash,
    controller: h.header.controller,
    topic: h.header.topic,
    keyId: h.header.keyId,
    checkpoints: [...h.checkpoints.values()].reduce((n, l) => n + l.length, 0),
    events: h.events,
    alarms: h.alarms.length,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `witness history intact: ${summary.lines} lines (controller ${summary.controller}, ${summary.topic}, key ${summary.keyId}): ` +
        `${summary.checkpoints} signed checkpoints, ${summary.events} events, ${summary.alarms} alarms\n` +
        `  last line sha256 ${summary.lastLineSha256}\n`,
    );
    for (const a of h.alarms) process.stdout.write(`  alarm (line ${a.n}): ${a.alarm}: ${a.detail}\n`);
    if (keyMatches === false)
      process.stdout.write(
        `  but --public-key is ${key ? publicKeyId(key) : ''}, not the key the history was kept with\n`,
      );
  }
  return summary.ok ? EXIT_OK : WITNESS_EXIT.history;
}
