/** The controller the benchmarks drive: its config, a working copy of the dataset, start and stop. */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Config, type LoadedConfig, parseConfig } from '../../controller/config/index.js';
import { doorConfig } from '../../tests/helpers/controller.js';
import { CONTROLLER_ID, DOOR } from './dataset.js';

export interface BenchConfigOptions {
  storageDir: string;
  /** Reader device paths (ptys) or 'sim'. */
  entry: string;
  exit: string;
  mqttUrl?: string;
  port?: number;
}

/**
 * The machine room as the generated dataset knows it: the tests' one-door config (doorConfig, the
 * door `machine-room` = DOOR, relock on close by default) with the dataset's site, controller id and
 * schedule, and its two readers.
 */
export function benchConfigObject(o: BenchConfigOptions): Record<string, unknown> {
  // The bench presents cards every few milliseconds: repeat suppression would swallow them.
  const readers = [
    { id: 'entry', path: o.entry, protocol: 'rdm6300', repeatSuppressMs: 0 },
    { id: 'exit', path: o.exit, protocol: 'rdm6300', repeatSuppressMs: 0 },
  ];
  const cfg = doorConfig(o.storageDir, readers, {
    site: { id: 'bench-city-hall', name: 'ベンチ市役所 本庁舎' },
    controller: { id: CONTROLLER_ID },
    timeZone: 'Asia/Tokyo',
    storage: { path: o.storageDir, checkpointEveryS: 300 },
    dashboard: { host: '127.0.0.1', port: o.port ?? 0 },
    schedules: [
      {
        id: 'office-hours',
        name: '開庁時間',
        windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }],
      },
    ],
    ...(o.mqttUrl ? { mqtt: { url: o.mqttUrl, reconnectS: 1, homeAssistant: { enabled: false } } } : {}),
  });
  if (cfg.doors[0]!.id !== DOOR) throw new Error(`the test config's door is not the dataset's ${DOOR}`);
  return cfg;
}

export function benchConfig(o: BenchConfigOptions): { loaded: LoadedConfig; file: string; config: Config } {
  const text = stringify(benchConfigObject(o));
  const file = join(
    o.storageDir,
    '..',
    `config-${process.pid}-${Math.random().toString(36).slice(2, 8)}.yaml`,
  );
  writeFileSync(file, text);
  const config = parseConfig(text, file);
  return { loaded: { config, file, storageDir: o.storageDir }, file, config };
}

/** A private copy of a cached dataset folder (the benchmarks write into it). */
export function workingCopy(datasetDir: string, workDir: string): string {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const storage = join(workDir, 'data');
  cpSync(datasetDir, storage, { recursive: true, filter: (src) => !src.endsWith('meta.json') });
  return storage;
}
