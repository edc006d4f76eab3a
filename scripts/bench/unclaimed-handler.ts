import type { SNSEvent } from 'aws-lambda';
import { loadLambdaConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { decodeSnsRecord } from '../../lib/order-message.ts';
import { processOrder, type OrderResult } from '../../lib/order-processing.ts';
import { parseOrder } from '../../lib/order-schema.ts';

/**
 * The benchmark's Lambda without its claims (issue 12): the same order core as
 * handlers/process-order.ts — decode each SNS record, validate, process, log `order.processed` —
 * without the orders table. Bundled with the function's own esbuild settings and run in the same
 * execution environments, so the two differ only by the claim and its completion.
 */
const config = loadLambdaConfig();
const logger = createLogger({ component: 'lambda', level: config.logLevel });

export const handler = async (event: SNSEvent): Promise<OrderResult[]> => {
  const results: OrderResult[] = [];
  for (const record of event.Records) {
    const message = decodeSnsRecord(record);
    results.push(
      await processOrder(parseOrder(message.payload), {
        path: 'lambda',
        requestId: message.requestId,
        acceptedAt: message.acceptedAt,
        logger,
        processingTimeMs: config.processingTimeMs,
      }),
    );
  }
  return results;
};
