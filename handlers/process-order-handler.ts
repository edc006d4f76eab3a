import type { Context, SNSEvent } from 'aws-lambda';
import type { Logger } from '../lib/logger.ts';
import { decodeSnsRecord } from '../lib/order-message.ts';
import { handleOrderMessage, type OrderResult } from '../lib/order-processing.ts';

export interface ProcessOrderHandlerOptions {
  logger: Logger;
  processingTimeMs: number;
}

export type ProcessOrderHandler = (event: SNSEvent, context: Pick<Context, 'awsRequestId'>) => Promise<OrderResult[]>;

/**
 * The Lambda adapter: each SNS record through the shared order core. SNS invokes the function
 * asynchronously with one record; any failure is thrown so that Lambda's asynchronous retries
 * (two) and then the on-failure destination keep the order.
 */
export function createProcessOrderHandler({ logger, processingTimeMs }: ProcessOrderHandlerOptions): ProcessOrderHandler {
  return async (event, context) => {
    const invocationLogger = logger.child({ aws_request_id: context.awsRequestId });
    const results: OrderResult[] = [];
    const failures: unknown[] = [];
    for (const record of event.Records) {
      try {
        results.push(
          await handleOrderMessage(() => decodeSnsRecord(record), {
            path: 'lambda',
            messageId: record.Sns.MessageId,
            logger: invocationLogger,
            processingTimeMs,
          }),
        );
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} of ${event.Records.length} records failed`);
    return results;
  };
}
