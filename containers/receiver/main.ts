import { loadReceiverConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { createOrderIntake } from './order-intake.ts';
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
  orders: createOrderIntake({
    aws: config.aws,
    topicArn: config.topicArn,
    ordersTableName: config.ordersTableName,
    timeoutMs: config.publishTimeoutMs,
    logger,
  }),
});
stopOnSignals(logger, () => receiver.stop());
