/**
 * The process root of `sekisho start`: the parts it runs, started in order and stopped in reverse.
 * Stopping (on a signal, or when a part fails to start) secures every door first, then stops the
 * parts already started, last first; a part that failed to start cleans up after itself.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HostNames } from '../dashboards/hosts.js';
import { buildServer } from '../dashboards/server.js';
import type { Board } from '../hardware/index.js';
import { DEFAULT_SCRYPT, type ScryptParams } from './accounts/passwords.js';
import { migrateAccounts } from './accounts/schema.js';
import { ensureSimulationToken, retireSimulationToken, TokenStore } from './accounts/tokens.js';
import { UserStore } from './accounts/users.js';
import { EXIT_POWER_FAILING } from './cli/exit-codes.js';
import type { LoadedConfig } from './config/index.js';
import { dashboardTransport, machineNames } from './dashboard-transport.js';
import { DEMO_BADGES, seedDemo, seedDemoAccounts } from './demo.js';
import { holdInstanceLock, type InstanceLock } from './instance-lock.js';
import type { Logger } from './log.js';
import { nodeSupport } from './node-support.js';
import { Controller } from './runtime/index.js';
import { createNotifier } from './sdnotify.js';

export interface SekishoOptions {
  loaded: LoadedConfig;
  log: Logger;
  /** A board instead of the one the config describes (tests). */
  board?: Board;
  /** Where the banners and the demo passwords go. Default: standard output. */
  print?: (text: string) => void;
  /** Who started it (`cliActor`): journaled as the actor of `config_loaded`. */
  startedBy?: string;
  /** How the process ends after a stop for a power failure (default process.exit; tests pass their own). */
  exit?: (code: number) => void;
}

/** `sekisho start`'s exit status after a clean stop for a power failure (docs/operations.md). */
export const POWER_FAILING_EXIT = EXIT_POWER_FAILING;

export interface Sekisho {
  controller: Controller;
  app: FastifyInstance;
  /** The dashboard's address, e.g. http://127.0.0.1:8080 or https://0.0.0.0:8443. */
  base: string;
  /** Secures the doors and stops every part, last started first. Safe to call more than once. */
  stop(reason: string): Promise<void>;
}

/** A start failure that has been logged already: `sekisho start` exits 1 without repeating it. */
export class LoggedStartError extends Error {}

interface Part {
  name: string;
  /** The reason the parts already started are stopped with when this one fails. */
  failure?: string;
  start(): void | Promise<void>;
  stop?(reason: string): void | Promise<void>;
}

export async function startSekisho(opts: SekishoOptions): Promise<Sekisho> {
  const { loaded, log } = opts;
  const { config } = loaded;
  const print = opts.print ?? ((text: string) => void process.stdout.write(text));
  const notifier = createNotifier({ log: (m) => log.warn(m) });
  // Before anything starts: a dashboard that would send passwords over the LAN in clear, or whose
  // certificate cannot be used, is a config error (exit 2, not restarted by systemd).
  const transport = dashboardTransport(loaded, Date.now());
  let controller: Controller | undefined;
  let instanceLock: InstanceLock | undefined;
  let app: FastifyInstance | undefined;
  let base = '';

  // Process hooks (crash guard, signals) are all removed by the crash guard, the last part stopped:
  // a second signal while stopping is ignored, as the first one's handler finishes the stop.
  const hooks: [string, (arg: unknown) => void][] = [];
  const hook = (event: string, fn: (arg: unknown) => void) => {
    process.on(event, fn);
    hooks.push([event, fn]);
  };

  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let startupOver: () => void = () => undefined;
  const startup = new Promise<void>((resolve) => {
    startupOver = resolve;
  });
  // The power-fail input decided to shut down (doors secured, `power_failing` committed): once the
  // start is over, the normal stop (final checkpoint, outbox drain, database closed), then the
  // configured system command, then exit 3 (the unit does not restart on it).
  const onPowerFailing = () => {
    if (stopping) return;
    void (async () => {
      await startup;
      await stop('power_failing');
      const argv = config.power?.shutdownCommand;
      if (argv) await runShutdownCommand(argv, (config.power?.shutdownTimeoutS ?? 60) * 1000, log);
      exit(POWER_FAILING_EXIT);
    })();
  };

  const started: Part[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      controller?.secureAll();
      for (const part of [...started].reverse()) {
        log.debug(`stopping ${part.name}`);
        await part.stop?.(reason);
      }
    })());

  const parts: Part[] = [
    {
      name: 'crash guard',
      // Any failure from here on leaves the doors secured before the process ends.
      start: () => {
        const crash = (err: unknown) => {
          log.error('fatal error; securing doors', { error: err instanceof Error ? err.stack : String(err) });
          controller?.secureAll();
          process.exit(1);
        };
        hook('uncaughtException', crash);
        hook('unhandledRejection', crash);
      },
      stop: () => {
        for (const [event, fn] of hooks.splice(0)) process.off(event, fn);
      },
    },
    {
      name: 'runtime check',
      // A door must not run on a Node.js without security fixes (docs/install.md, step 3).
      start: () => {
        const s = nodeSupport(process.versions.node, new Date().toISOString().slice(0, 10));
        if (s.status !== 'supported') log.warn(s.message);
      },
    },
    {
      // One process drives the doors: not while `sekisho commission` (or another start) runs.
      name: 'instance lock',
      start: () => {
        instanceLock = holdInstanceLock(loaded.storageDir, 'controller');
      },
      stop: () => instanceLock?.release(),
    },
    {
      // Board, storage, readers, doors and MQTT.
      name: 'controller',
      start: async () => {
        controller = await Controller.start({
          loaded,
          log,
          board: opts.board,
          startedBy: opts.startedBy,
          onPowerFailing,
        });
      },
      stop: (reason) => controller!.stop(reason),
    },
    {
      name: 'demo people',
      start: () => {
        const c = controller!;
        if (config.demo.seed && config.board.kind === 'sim' && seedDemo(c.registry, config, c.now()))
          log.info('seeded demo people and badges');
      },
    },
    {
      name: 'dashboard tables',
      start: () =>
        prepareDashboard(controller!, {
          // Both must say simulation: a test's simulated board under a real board's config does not.
          demoAccounts: config.board.kind === 'sim' && controller!.board.kind === 'sim',
          announce: print,
        }),
    },
    {
      // Simulation: the walk-through's token in <storage>/api-token. A real board never reads that
      // file and revokes the token a simulated run left (docs/api.md, "API tokens").
      name: 'API tokens',
      start: () => {
        const c = controller!;
        const tokens = new TokenStore(c.db, c.journal);
        const file = apiTokenFile(loaded);
        if (c.board.kind === 'sim') {
          if (ensureSimulationToken(tokens, file, c.now()).renewed)
            log.info(`wrote the simulation API token to ${file}`);
          return;
        }
        const r = retireSimulationToken(tokens, file, c.now());
        if (r.revoked) log.warn('revoked the simulation API token: this board is not simulated');
        if (r.fileLeft)
          log.warn(
            `${file} is not used on a real board (make scoped tokens with "sekisho token create"); delete it`,
          );
      },
    },
    {
      name: 'dashboard',
      start: async () => {
        for (const w of transport.warnings) log.warn(w);
        const { fixed, machine } = transport.hostnames;
        app = await buildServer({
          controller: controller!,
          secureCookies: transport.secureCookies,
          hostnames: new HostNames(fixed, machine ? machineNames : undefined),
          ...(transport.tls ? { https: { cert: transport.tls.cert, key: transport.tls.key } } : {}),
          ...(transport.trustProxy ? { trustProxy: transport.trustProxy } : {}),
        });
      },
      stop: () => app!.close().catch(() => undefined),
    },
    {
      name: 'signals',
      start: () => {
        const onSignal = (signal: string) => {
          if (stopping) return;
          log.info(`${signal}: stopping; doors secured`);
          void stop(signal).then(() => process.exit(0));
        };
        hook('SIGINT', () => onSignal('SIGINT'));
        hook('SIGTERM', () => onSignal('SIGTERM'));
      },
    },
    {
      name: 'listener',
      failure: 'listen_failed',
      start: async () => {
        const { host, port } = config.dashboard;
        try {
          await app!.listen({ host, port });
        } catch (err) {
          log.error(`cannot listen on ${host}:${port}`, { error: String(err) });
          throw new LoggedStartError(`cannot listen on ${host}:${port}`);
        }
        const addr = app!.server.address();
        const scheme = transport.tls ? 'https' : 'http';
        const shown = host.includes(':') ? `[${host}]` : host;
        base = `${scheme}://${shown}:${typeof addr === 'object' && addr ? addr.port : port}`;
        print(`Sekisho ${config.controller.id} running — door secured, dashboard on ${base}\n`);
        print(`listening ${base}\n`);
      },
    },
    {
      // systemd (Type=notify): ready once the door is secured and the server listens; then watchdog pings.
      name: 'sd-notify',
      start: async () => {
        await notifier.ready(`doors secured; dashboard on ${base}`);
        notifier.startWatchdog(() => !stopping);
      },
      stop: (reason) => notifier.stopping(`${reason}: securing doors`),
    },
    {
      name: 'simulation banner',
      start: () => {
        if (config.board.kind === 'sim') print(simulationBanner(loaded, base));
      },
    },
  ];

  for (const part of parts) {
    log.debug(`starting ${part.name}`);
    try {
      await part.start();
    } catch (err) {
      startupOver();
      await stop(part.failure ?? 'start_failed');
      throw err;
    }
    started.push(part);
  }
  startupOver();
  return { controller: controller!, app: app!, base, stop };
}

/**
 * Runs `power.shutdownCommand` (no shell), logging its outcome; killed after `timeoutMs`. Never throws:
 * the controller has stopped and exits whatever the command does.
 */
export async function runShutdownCommand(
  argv: readonly string[],
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  const shown = argv.join(' ');
  log.info(`running the shutdown command: ${shown}`);
  await new Promise<void>((resolve) => {
    let output = '';
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      if (output.length < 4000) output += d.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      log.error(`the shutdown command did not end within ${timeoutMs} ms; killed`, { command: shown });
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      log.error('the shutdown command could not be run', { command: shown, error: err.message });
      resolve();
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) log.info('the shutdown command ended', { command: shown });
      else log.error('the shutdown command failed', { command: shown, code, signal, output: output.trim() });
      resolve();
    });
  });
}

/**
 * The dashboard's tables, and at first start in simulation mode its demo accounts (passwords handed
 * to `announce`). Before buildServer, which expects the tables.
 */
export async function prepareDashboard(
  controller: Pick<Controller, 'db' | 'journal' | 'now' | 'config'>,
  opts: { demoAccounts: boolean; announce: (text: string) => void; scrypt?: ScryptParams },
): Promise<void> {
  migrateAccounts(controller.db);
  if (!opts.demoAccounts) return;
  const users = new UserStore(controller.db, controller.journal, { scrypt: opts.scrypt ?? DEFAULT_SCRYPT });
  await seedDemoAccounts(users, controller.config, () => controller.now(), opts.announce);
}

/** The simulation token's file (simulation mode only). */
function apiTokenFile(loaded: LoadedConfig): string {
  return join(loaded.storageDir, 'api-token');
}

/** How to use the simulation: the simulation token, presenting a badge, the demo badges. */
function simulationBanner(loaded: LoadedConfig, base: string): string {
  const tokenFile = apiTokenFile(loaded);
  const reader = loaded.config.doors[0]!.entryReader;
  const door = loaded.config.doors[0]!.id;
  const lines = [
    '',
    'Simulation mode: the GPIO board and the sim readers are simulated (docs/simulation.md).',
    `API token "simulation" (scopes read and sim; remade at each start if missing or revoked), in ${tokenFile}:`,
    `  TOKEN=$(cat ${tokenFile})`,
    'Present a badge at the entry reader:',
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `       -d '{"reader":"${reader}","credential":"${DEMO_BADGES[0]!.credential}"}' ${base}/api/sim/badge`,
    'Open and close the door:',
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"open":true}' ${base}/api/sim/doors/${door}/contact`,
    `  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"open":false}' ${base}/api/sim/doors/${door}/contact`,
    `See the state: curl -s -H "Authorization: Bearer $TOKEN" ${base}/api/status`,
    'Demo badges:',
    ...DEMO_BADGES.map((b) => `  ${b.credential}  ${b.person} — ${b.note}`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
