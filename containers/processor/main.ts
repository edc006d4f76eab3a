import { loadProcessorConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { createProcessor } from './processor.ts';

/** Container entry point of the ECS processor. */
const config = loadConfigOrExit(() => loadProcessorConfig());
const logger = createLogger({ component: 'processor', level: config.logLevel });
const processor = createProcessor(config, logger);
stopOnSignals(logger, () => processor.stop());
processor.start();
