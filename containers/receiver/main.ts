import { createSnsClient } from '../../lib/aws-clients.ts';
import { loadReceiverConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { SNS_CLIENT_OPTIONS, SnsOrderPublisher } from './order-publisher.ts';
import { startReceiver } from './server.ts';

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
  publisher: new SnsOrderPublisher(createSnsClient(config.aws, SNS_CLIENT_OPTIONS), config.topicArn, {
    timeoutMs: config.publishTimeoutMs,
    maxCallsInFlight: SNS_CLIENT_OPTIONS.maxSockets,
    logger,
  }),
});
stopOnSignals(logger, () => receiver.stop());
