import { defineConfig } from 'vitest/config';

/**
 * Four projects, by what a test needs besides Node.js and the project's own files:
 * - unit: nothing (real SQLite files and in-process servers are fine): `npm run test:unit`;
 * - integration: real processes and services: Mosquitto, socat ptys, `sekisho` child processes,
 *   g++ (the bridge firmware), systemd-analyze, the installer;
 * - browser: Chromium;
 * - torture: the short torture run.
 * `npm test` runs all four.
 */
const browser = ['tests/browser/**/*.test.ts', 'tests/dashboards/people-browser.test.ts'];
const torture = ['tests/torture/**/*.test.ts'];
const integration = [
  'tests/integration/**/*.test.ts',
  'tests/mqtt/**/*.test.ts',
  'tests/ops/**/*.test.ts',
  'tests/golden/**/*.test.ts',
  'tests/firmware/**/*.test.ts',
  'tests/build.test.ts',
  'tests/firmware-bridge/reader-pty.test.ts',
  'tests/dashboards/cli-user.test.ts',
  'tests/collector/**/*.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    // Vitest's default is one worker per core but one: a single worker on a 2-core machine, where the
    // files that wait on child processes, brokers and browsers then leave a core idle.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A browser's answer can take seconds on a loaded CI machine; polls still end at the first match.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: [...browser, ...torture, ...integration],
        },
      },
      { extends: true, test: { name: 'integration', include: integration } },
      { extends: true, test: { name: 'browser', include: browser } },
      { extends: true, test: { name: 'torture', include: torture } },
    ],
  },
});
