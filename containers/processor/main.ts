import { loadProcessorConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { startHeartbeat } from './heartbeat.ts';
import { createProcessor } from './processor.ts';

/** Container entry point of the ECS processor. */
const config = loadConfigOrExit(() => loadProcessorConfig());
const logger = createLogger({ component: 'processor', level: config.logLevel });
const processor = createProcessor(config, logger);
// In the container image HEARTBEAT_FILE is set: the health check reads it (heartbeat.ts).
const heartbeat = config.heartbeatFile ? startHeartbeat(config.heartbeatFile) : undefined;
// stop() ends within SHUTDOWN_TIMEOUT_MS (every AWS call bounded by what is left of it); should
// anything else hold it, the process still exits a second later, well inside ECS's stop timeout.
const STOP_GUARD_MS = 1000;
stopOnSignals(logger, () => {
  setTimeout(() => {
    logger.error({ event: 'process.stop_overran', shutdown_timeout_ms: config.shutdownTimeoutMs }, 'stop overran its deadline: exiting now');
    process.exit(1);
  }, config.shutdownTimeoutMs + STOP_GUARD_MS).unref();
  return processor.stop().finally(() => heartbeat?.stop());
});
processor.start();
