import { createSnsClient } from '../../lib/aws-clients.ts';
import { loadReceiverConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { SnsOrderPublisher } from './order-publisher.ts';
import { startReceiver } from './server.ts';

/**
 * SDK attempts per publish and how long each may wait for SNS: three attempts of 2 s fit the
 * publish deadline (PUBLISH_TIMEOUT_MS, 6 s by default), which bounds them all together.
 */
const SNS_CLIENT = { maxAttempts: 3, requestTimeoutMs: 2_000 };

/** Container entry point of the receiver. */
const config = loadConfigOrExit(() => loadReceiverConfig());
const logger = createLogger({ component: 'receiver', level: config.logLevel });
const receiver = await startReceiver({
  port: config.port,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  bodyTimeoutMs: config.bodyTimeoutMs,
  maxConnections: config.maxConnections,
  logger,
  processingTimeMs: config.processingTimeMs,
  publisher: new SnsOrderPublisher(createSnsClient(config.aws, SNS_CLIENT), config.topicArn, { timeoutMs: config.publishTimeoutMs }),
});
stopOnSignals(logger, () => receiver.stop());
