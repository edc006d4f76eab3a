import type { Logger } from './logger.ts';
import { ConfigError } from './errors.ts';

/**
 * Runs `stop` once on SIGTERM or SIGINT (ECS sends SIGTERM before SIGKILL; Ctrl-C sends SIGINT),
 * then exits 0. A second signal while stopping exits at once with 130.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<unknown>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ event: 'process.forced_exit', signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ event: 'process.stopping', signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ event: 'process.stop_failed', err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
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
