import type { Context, SNSEvent } from 'aws-lambda';
import type { Logger } from '../lib/logger.ts';
import { decodeSnsRecord } from '../lib/order-message.ts';
import { handleOrderMessage, type OrderResult } from '../lib/order-processing.ts';
import { DELIVERIES_PER_PATH, type OrderRecords } from '../lib/order-records.ts';

/**
 * How much longer than the invocation's remaining time a claim's lease runs. The function cannot
 * run past its timeout (the runtime ends it), so by then the holder is gone whatever happened;
 * the margin only covers the time between reading the remaining time and the claim's write, and
 * clock differences between hosts (synchronised to well under a second).
 */
export const LAMBDA_LEASE_MARGIN_MS = 1_000;

/**
 * What a delivery keeps of its remaining time for the work once it has waited for a holder: the
 * claim, the completion's write and the log lines, besides PROCESSING_TIME_MS.
 */
export const LAMBDA_WORK_RESERVE_MS = 1_000;

export interface ProcessOrderHandlerOptions {
  logger: Logger;
  processingTimeMs: number;
  records: OrderRecords;
  /** How often a delivery waiting for another invocation's claim reads the record (default 200 ms). */
  pollMs?: number;
}

export type ProcessOrderHandler = (
  event: SNSEvent,
  context: Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>,
) => Promise<OrderResult[]>;

/**
 * The Lambda adapter: each SNS record through the shared order core. SNS invokes the function
 * asynchronously with one record; any failure is thrown so that Lambda's asynchronous retries
 * (two) and then the on-failure destination keep the order.
 *
 * - The claim's lease is the invocation's remaining time plus LAMBDA_LEASE_MARGIN_MS: the claim
 *   cannot outlive the invocation by more, so a timed-out or crashed invocation's order is free
 *   for the retry.
 * - Held by another invocation's live claim (a duplicate delivery running at the same time, or a
 *   retry that came before a timed-out attempt's lease ran out): the invocation waits, reading
 *   the record, for as long as its remaining time leaves room for the work, then claims again
 *   (or acknowledges the duplicate); still held, it fails, and Lambda retries it later.
 * - The final attempt: Lambda does not tell a function which retry it runs. The record does: each
 *   claim counts an attempt, and only failed attempts leave an order claimable again, so the claim
 *   that brings the path's attempts to `DELIVERIES_PER_PATH.lambda` (the first invocation and
 *   Lambda's asynchronous retries, resources/messaging.json; or beyond) belongs to the event's last
 *   invocation; its failure marks the record dead_lettered, as Lambda sends the event to the
 *   on-failure destination next.
 */
export function createProcessOrderHandler({ logger, processingTimeMs, records, pollMs }: ProcessOrderHandlerOptions): ProcessOrderHandler {
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
            claims: {
              records,
              leaseMs: () => context.getRemainingTimeInMillis() + LAMBDA_LEASE_MARGIN_MS,
              waitForHolderUntil: () => Date.now() + context.getRemainingTimeInMillis() - processingTimeMs - LAMBDA_WORK_RESERVE_MS,
              isFinalAttempt: (claimAttempt) => claimAttempt !== undefined && claimAttempt >= DELIVERIES_PER_PATH.lambda,
              ...(pollMs !== undefined ? { pollMs } : {}),
            },
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
