import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { PublishError } from '../../lib/errors.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import type { Order } from '../../lib/order-schema.ts';

export interface PublishMeta {
  requestId: string;
  acceptedAt: number;
  /** Ends the publish early (the receiver's drain deadline): it fails, the order is not accepted. */
  signal?: AbortSignal | undefined;
}

/** Hands an accepted order on; resolves with the message id only once the topic has it. */
export interface OrderPublisher {
  publish(order: Order, meta: PublishMeta): Promise<string>;
}

/** How long one publish may take, all SDK attempts and their backoff together (PUBLISH_TIMEOUT_MS). */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 6_000;

export interface SnsOrderPublisherOptions {
  /** The publish's total deadline across the SDK's attempts; past it the order is not accepted. */
  timeoutMs?: number;
}

export class SnsOrderPublisher implements OrderPublisher {
  private readonly sns: SNSClient;
  private readonly topicArn: string;
  private readonly timeoutMs: number;

  constructor(sns: SNSClient, topicArn: string, { timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS }: SnsOrderPublisherOptions = {}) {
    this.sns = sns;
    this.topicArn = topicArn;
    this.timeoutMs = timeoutMs;
  }

  async publish(order: Order, { requestId, acceptedAt, signal }: PublishMeta): Promise<string> {
    // One deadline for the whole publish: the SDK stops retrying once it is aborted.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const abortSignal = signal ? AbortSignal.any([deadline, signal]) : deadline;
    try {
      const { MessageId } = await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Message: JSON.stringify(order),
          MessageAttributes: orderMessageAttributes(requestId, acceptedAt),
        }),
        { abortSignal },
      );
      if (!MessageId) throw new Error('SNS answered without a message id');
      return MessageId;
    } catch (error) {
      const cause = deadline.aborted
        ? new Error(`SNS did not take the order within ${this.timeoutMs} ms (PUBLISH_TIMEOUT_MS)`, { cause: error })
        : signal?.aborted
          ? new Error('the receiver reached its drain deadline before SNS took the order', { cause: error })
          : error;
      throw new PublishError(order.order_id, { cause });
    }
  }
}
