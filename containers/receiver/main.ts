import { createSnsClient } from '../../lib/aws-clients.ts';
import { loadReceiverConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadConfigOrExit, stopOnSignals } from '../../lib/process-lifecycle.ts';
import { DEFAULT_MAX_CALLS_IN_FLIGHT, SnsOrderPublisher } from './order-publisher.ts';
import { startReceiver } from './server.ts';

/**
 * SDK attempts per PublishBatch call and how long each may wait for SNS: three attempts of 2 s fit
 * the publish deadline (PUBLISH_TIMEOUT_MS, 6 s by default), which bounds them all together.
 * One socket per PublishBatch call the publisher keeps in flight: a call never waits in the SDK
 * for a socket (a wait no timeout sees), and sockets stay bounded however many connections the
 * receiver serves. 50 calls of up to 10 orders carry 500 orders at once, at about 20 ms a call
 * some 25,000 orders/s: several times what one task's CPU accepts, so the pool never limits.
 */
const SNS_CLIENT = { maxAttempts: 3, requestTimeoutMs: 2_000, maxSockets: DEFAULT_MAX_CALLS_IN_FLIGHT };

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
  publisher: new SnsOrderPublisher(createSnsClient(config.aws, SNS_CLIENT), config.topicArn, {
    timeoutMs: config.publishTimeoutMs,
    maxCallsInFlight: SNS_CLIENT.maxSockets,
    logger,
  }),
});
stopOnSignals(logger, () => receiver.stop());
