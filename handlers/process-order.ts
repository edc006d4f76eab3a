import { createDynamoDbClient } from '../lib/aws-clients.ts';
import { loadLambdaConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { OrderRecords } from '../lib/order-records.ts';
import { createProcessOrderHandler, type ProcessOrderHandler } from './process-order-handler.ts';

// Read once per execution environment (cold start): a bad setting fails the init with a plain message.
const config = loadLambdaConfig();

/** Entry point named in serverless.yml: handlers/process-order.handler. */
export const handler: ProcessOrderHandler = createProcessOrderHandler({
  logger: createLogger({ component: 'lambda', level: config.logLevel }),
  processingTimeMs: config.processingTimeMs,
  // One client per environment, made at init and reused by every warm invocation.
  records: new OrderRecords({ dynamodb: createDynamoDbClient(config.aws), tableName: config.ordersTableName }),
});
