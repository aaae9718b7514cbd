/**
 * `sekisho log | head`: once the reader of stdout (or stderr) has gone, further output is dropped
 * quietly. Without a listener, the pipe's EPIPE is an unhandled 'error' event: a stack trace and
 * exit 1, possibly in the middle of a command that still had work to finish (a backup's rotation).
 * The command runs to its end and exits with its own status.
 */
import { EXIT_FAILED } from './exit-codes.js';

let installed = false;

export function quietOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  let failed = false;
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || failed) return;
      // Any other write error (a full disk behind `> file`): the output is incomplete, so the
      // command must not report success.
      failed = true;
      if (stream !== process.stderr)
        process.stderr.write(`sekisho: cannot write the output: ${err.message}\n`);
      process.once('exit', () => {
        process.exitCode = EXIT_FAILED;
      });
    });
}
