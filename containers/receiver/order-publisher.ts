import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { PublishError } from '../../lib/errors.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import type { Order } from '../../lib/order-schema.ts';

export interface PublishMeta {
  requestId: string;
  acceptedAt: number;
}

/** Hands an accepted order on; resolves with the message id only once the topic has it. */
export interface OrderPublisher {
  publish(order: Order, meta: PublishMeta): Promise<string>;
}

export class SnsOrderPublisher implements OrderPublisher {
  private readonly sns: SNSClient;
  private readonly topicArn: string;

  constructor(sns: SNSClient, topicArn: string) {
    this.sns = sns;
    this.topicArn = topicArn;
  }

  async publish(order: Order, { requestId, acceptedAt }: PublishMeta): Promise<string> {
    try {
      const { MessageId } = await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Message: JSON.stringify(order),
          MessageAttributes: orderMessageAttributes(requestId, acceptedAt),
        }),
      );
      if (!MessageId) throw new Error('SNS answered without a message id');
      return MessageId;
    } catch (error) {
      throw new PublishError(order.order_id, { cause: error });
    }
  }
}
