import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';

/** SQS takes at most ten entries per batch call. */
export const SQS_BATCH_LIMIT = 10;

/** How long the first finished message waits for nine more before its batch goes anyway. */
export const DELETE_BATCH_DELAY_MS = 50;

/**
 * Deletes finished messages in batches of up to ten: a batch goes when it is full or when the
 * oldest entry has waited `maxDelayMs`. A failed delete is logged and left alone: the message
 * becomes visible again and is delivered once more (SQS is at-least-once either way).
 */
export class DeleteBatcher {
  private pending: { id: string; receiptHandle: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger;
  private readonly maxDelayMs: number;

  constructor(options: { sqs: SQSClient; queueUrl: string; logger: Logger; maxDelayMs?: number }) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.logger = options.logger;
    this.maxDelayMs = options.maxDelayMs ?? DELETE_BATCH_DELAY_MS;
  }

  add(messageId: string, receiptHandle: string): void {
    this.pending.push({ id: messageId, receiptHandle });
    if (this.pending.length >= SQS_BATCH_LIMIT) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), this.maxDelayMs);
  }

  /** Sends everything pending and waits for every batch under way. */
  async flush(): Promise<void> {
    this.flushNow();
    await Promise.all([...this.inFlight]);
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, SQS_BATCH_LIMIT);
      const sending = this.send(batch).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async send(batch: { id: string; receiptHandle: string }[]): Promise<void> {
    // Batch entry ids must be unique and alphanumeric; message ids are, but index them to be sure.
    const entries = batch.map((entry, index) => ({ Id: `m${index}`, ReceiptHandle: entry.receiptHandle }));
    try {
      const { Failed = [] } = await this.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      for (const failure of Failed) {
        const entry = batch[Number(failure.Id?.slice(1))];
        this.logger.warn(
          { event: 'queue.delete_failed', message_id: entry?.id, error: { code: failure.Code, message: failure.Message } },
          'message not deleted; it will be delivered again',
        );
      }
    } catch (error) {
      this.logger.warn(
        { event: 'queue.delete_failed', message_ids: batch.map((entry) => entry.id), error: describeError(error) },
        'batch not deleted; its messages will be delivered again',
      );
    }
  }
}
