/**
 * The `sekisho` command. Every command takes --config PATH (default: $SEKISHO_CONFIG or
 * /etc/sekisho/config.yaml). Exit codes: controller/cli/exit-codes.ts (0 success, 1 failure, 2 bad
 * usage or a bad config, 3 and above a command's own), listed in docs/cli.md.
 *
 * This file is the dispatcher; the help text is controller/cli/help.ts and the commands live in
 * controller/cli/, grouped by concern.
 */
import { parseArgs } from 'node:util';
import { backupCommand, restoreCommand } from './cli/backup.js';
import { commissionCommand } from './cli/commission.js';
import { common, load, refuseActor, UsageError } from './cli/common.js';
import { configCommand } from './cli/config.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './cli/exit-codes.js';
import { COMMAND_NAMES, HELP, helpFor } from './cli/help.js';
import { archiveCommand, log, verify, verifyArchiveCommand } from './cli/journal.js';
import { recordManualEntryCommand } from './cli/manual-entry.js';
import { badge, person } from './cli/people-badges.js';
import { quietOnClosedPipe } from './cli/pipe.js';
import { secureOutputsCommand, start } from './cli/service.js';
import { tokenCommand } from './cli/tokens.js';
import { releaseCommand, upgradeCommand } from './cli/upgrade.js';
import { userCommand } from './cli/users.js';
import { presenceCommand, visitorCommand } from './cli/visitors.js';
import { witnessCommand } from './cli/witness.js';
import { ConfigError } from './config/index.js';
import { doctor } from './doctor.js';

export { HELP };

/** Commands that run until stopped: a reader of their output going away must not end them here. */
const LONG_RUNNING = new Set(['start', 'witness', 'commission']);

/** `--help` or `-h` among a command's arguments (before a `--`): only its help is printed. */
function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || !LONG_RUNNING.has(cmd)) quietOnClosedPipe();
  try {
    // Help first: it reads no config, starts nothing and opens no journal.
    if (cmd !== undefined && COMMAND_NAMES.includes(cmd) && asksForHelp(rest)) {
      process.stdout.write(helpFor(cmd)!);
      return EXIT_OK;
    }
    refuseActor(rest);
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return cmd === undefined ? EXIT_USAGE : EXIT_OK;
      case 'help': {
        const [topic, ...extra] = rest;
        if (topic === undefined) {
          process.stdout.write(HELP);
          return EXIT_OK;
        }
        const text = helpFor(topic);
        if (text === undefined || extra.length > 0)
          throw new UsageError(
            text === undefined ? `no command "${topic}"` : 'usage: sekisho help [COMMAND]',
          );
        process.stdout.write(text);
        return EXIT_OK;
      }
      case 'start':
        return await start(rest);
      case 'verify':
        return verify(rest);
      case 'log':
        return log(rest);
      case 'person':
        return person(rest);
      case 'badge':
        return badge(rest);
      case 'visitor':
        return visitorCommand(rest);
      case 'user':
        return await userCommand(rest);
      case 'token':
        return tokenCommand(rest);
      case 'presence':
        return presenceCommand(rest);
      case 'record-manual-entry':
        return recordManualEntryCommand(rest);
      case 'config':
        return configCommand(rest);
      case 'doctor':
        return await doctor(load(parseArgs({ args: rest, options: common }).values.config));
      case 'backup':
        return await backupCommand(rest);
      case 'restore':
        return restoreCommand(rest);
      case 'archive':
        return archiveCommand(rest);
      case 'verify-archive':
        return verifyArchiveCommand(rest);
      case 'secure-outputs':
        return secureOutputsCommand(rest);
      case 'witness':
        return await witnessCommand(rest);
      case 'commission':
        return await commissionCommand(rest);
      case 'upgrade':
        return await upgradeCommand(rest);
      case 'release':
        return releaseCommand(rest);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sekisho: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const topic = cmd !== undefined && COMMAND_NAMES.includes(cmd) ? ` ${cmd}` : '';
      process.stderr.write(`sekisho: ${(err as Error).message}\nrun "sekisho help${topic}" for usage\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`sekisho: ${(err as Error).message}\n`);
    return EXIT_FAILED;
  }
}
