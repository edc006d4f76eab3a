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
stopOnSignals(logger, () => processor.stop().finally(() => heartbeat?.stop()));
processor.start();
