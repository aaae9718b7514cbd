/** The controller the benchmarks drive: its config, a working copy of the dataset, start and stop. */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Config, type LoadedConfig, parseConfig } from '../../controller/config/index.js';
import { CONTROLLER_ID, DOOR } from './dataset.js';

export interface BenchConfigOptions {
  storageDir: string;
  /** Reader device paths (ptys) or 'sim'. */
  entry: string;
  exit: string;
  mqttUrl?: string;
  port?: number;
}

/** The machine room as the generated dataset knows it: one door, an entry and an exit reader. */
export function benchConfigObject(o: BenchConfigOptions): Record<string, unknown> {
  return {
    site: { id: 'bench-city-hall', name: 'ベンチ市役所 本庁舎' },
    controller: { id: CONTROLLER_ID },
    timeZone: 'Asia/Tokyo',
    storage: { path: o.storageDir, checkpointEveryS: 300 },
    dashboard: { host: '127.0.0.1', port: o.port ?? 0 },
    board: { kind: 'sim' },
    schedules: [
      {
        id: 'office-hours',
        name: '開庁時間',
        windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }],
      },
    ],
    // The bench presents cards every few milliseconds: repeat suppression would swallow them.
    readers: [
      { id: 'entry', path: o.entry, protocol: 'rdm6300', repeatSuppressMs: 0 },
      { id: 'exit', path: o.exit, protocol: 'rdm6300', repeatSuppressMs: 0 },
    ],
    doors: [
      {
        id: DOOR,
        name: 'マシン室',
        entryReader: 'entry',
        exitReader: 'exit',
        exitButton: { pin: 27, debounceMs: 0 },
        contact: { pin: 17, debounceMs: 0 },
        lock: { pin: 22, activeLow: true, failMode: 'fail-secure' },
        buzzer: { pin: 23 },
        tamper: { pin: 24, debounceMs: 0 },
        unlockMs: 5000,
        heldOpenMs: 30000,
        preAlarmMs: 10000,
        relockOnClose: true,
      },
    ],
    ...(o.mqttUrl ? { mqtt: { url: o.mqttUrl, reconnectS: 1, homeAssistant: { enabled: false } } } : {}),
  };
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
