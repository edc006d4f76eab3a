import type { Logger } from './logger.ts';
import { ConfigError } from './errors.ts';

/**
 * A repeat of the stop signal this soon after the first is the same request, not a second one:
 * Ctrl-C signals the terminal's whole foreground process group, and the launchers in between
 * (npm, tsx) relay the signal again to their child, so one key press can arrive two or three
 * times within a few milliseconds.
 */
export const SAME_SIGNAL_WINDOW_MS = 1000;

/**
 * Calls `first` on the first SIGTERM or SIGINT, and `force` on a later one that comes at least
 * SAME_SIGNAL_WINDOW_MS after it (a second, deliberate Ctrl-C); repeats within the window are
 * ignored. ECS sends SIGTERM once before SIGKILL.
 */
export function onStopSignals(first: (signal: NodeJS.Signals) => void, force: (signal: NodeJS.Signals) => void): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      first(signal);
    } else if (now - firstAt >= SAME_SIGNAL_WINDOW_MS) {
      force(signal);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0. A second signal while stopping (not a
 * relay of the first: onStopSignals) exits at once with 130.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<unknown>): void {
  onStopSignals(
    (signal) => {
      logger.info({ event: 'process.stopping', signal }, 'stopping');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ event: 'process.stop_failed', err: error }, 'stop failed');
          process.exit(1);
        },
      );
    },
    (signal) => {
      logger.warn({ event: 'process.forced_exit', signal }, 'second signal: exiting now');
      process.exit(130);
    },
  );
}

/** Loads configuration or exits with its plain message (no stack trace) and status 78 (EX_CONFIG). */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
