import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { type Config, ConfigSchema } from './schema.js';

/** A config that cannot be used. `problems` are lines like `doors[0].lock.pin: expected integer`. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      return issue.input === undefined
        ? `required (expected ${issue.expected})`
        : `expected ${issue.expected}`;
    }
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return issue.message;
  }
}

export function parseConfig(text: string, file = '<config>'): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map(
        (e) => `YAML ${e.linePos ? `line ${e.linePos[0].line}` : ''}: ${e.message.split('\n')[0]}`,
      ),
    );
  }
  const raw = doc.toJS();
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((i) => `${formatPath(i.path)}: ${describe(i)}`),
    );
  }
  return result.data;
}

export interface LoadedConfig {
  config: Config;
  file: string;
  /** storage.path resolved against the config file's folder. */
  storageDir: string;
  /**
   * SHA-256 (hex) of the file's bytes exactly as read, and its modification time (UTC ms): journaled
   * at every start (`config_loaded`). Absent for a config not read from a file (tests).
   */
  sha256?: string;
  modifiedAt?: number;
}

export function loadConfig(file: string): LoadedConfig {
  const abs = resolve(file);
  let bytes: Buffer;
  let modifiedAt: number;
  try {
    bytes = readFileSync(abs);
    modifiedAt = Math.trunc(statSync(abs).mtimeMs);
  } catch (err) {
    throw new ConfigError(abs, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  // The hash is of the bytes parsed, not of a second read that a writer could race.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const config = parseConfig(bytes.toString('utf8'), abs);
  const sp = config.storage.path;
  const storageDir = isAbsolute(sp) ? sp : resolve(dirname(abs), sp);
  return { config, file: abs, storageDir, sha256, modifiedAt };
}
