import { PublishCommand } from '@aws-sdk/client-sns';
import { createDynamoDbClient, createSnsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import type { LogCollector } from '../../local/log-collector.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import { OrderRecords, type ProcessingPath } from '../../lib/order-records.ts';
import type { Order } from '../../lib/order-schema.ts';
import { forEachWithLimit } from '../for-each-with-limit.ts';

/**
 * What the experiment counts on a path besides throughput (issue 12), each from its own source:
 *
 * - effects: accepted orders whose record on the path (orders table, `path#<path>`) is
 *   `processed`: the order took effect;
 * - deliveries: the path's `order.processed` and `order.duplicate` lines: every delivery that
 *   ended in a processing or in the acknowledgement of one already done (a failed delivery is
 *   counted in neither; the receive counts say how many tries an order took);
 * - duplicates: the `order.duplicate` lines: deliveries of an order already processed on the path,
 *   acknowledged without a second effect.
 */
export interface EffectCounts {
  effects: number;
  deliveries: number;
  duplicates: number;
}

/** The orders table of a stack, as the processors write it; `close` ends its client's connections. */
export function openOrderRecords(stack: { aws: AwsConfig; ordersTableName: string }): { records: OrderRecords; close: () => void } {
  const dynamodb = createDynamoDbClient(stack.aws);
  return {
    records: new OrderRecords({ dynamodb, tableName: stack.ordersTableName }),
    close: () => dynamodb.destroy(),
  };
}


/** The effects, deliveries and duplicates of `orderIds` on `path`: effects from the table, the rest from the logs. */
export async function countEffects(options: { records: OrderRecords; path: ProcessingPath; orderIds: Iterable<string>; logs: LogCollector }): Promise<EffectCounts> {
  const { records, path, logs } = options;
  let effects = 0;
  await forEachWithLimit([...new Set(options.orderIds)], 16, async (orderId) => {
    if ((await records.status(orderId))?.paths[path]?.status === 'processed') effects += 1;
  });
  const processed = logs.events('order.processed', (line) => line.path === path).length;
  const duplicates = logs.events('order.duplicate', (line) => line.path === path).length;
  return { effects, deliveries: processed + duplicates, duplicates };
}

/**
 * Publishes each of `orders` to the topic a second time, as it was published the first time (the
 * order as the body, its accepted record's request id and acceptance time as attributes): the same
 * message delivered twice, as an at-least-once broker or a client's retry after a lost answer may
 * make it. Each copy must come out as one more delivery and one `order.duplicate`, never a second
 * effect.
 */
export async function publishDuplicates(options: { aws: AwsConfig; topicArn: string; records: OrderRecords; orders: Order[] }): Promise<number> {
  const sns = createSnsClient(options.aws);
  let published = 0;
  try {
    for (const order of options.orders) {
      const accepted = (await options.records.status(order.order_id))?.accepted;
      if (!accepted) throw new Error(`order ${order.order_id} has no accepted record to publish again`);
      await sns.send(
        new PublishCommand({
          TopicArn: options.topicArn,
          Message: JSON.stringify(order),
          MessageAttributes: orderMessageAttributes(accepted.request_id, accepted.accepted_at),
        }),
      );
      published += 1;
    }
  } finally {
    sns.destroy();
  }
  return published;
}

/** `count` orders spread evenly over `orders` (first, last and between), at most all of them. */
export function spreadPick<T>(orders: T[], count: number): T[] {
  const take = Math.min(count, orders.length);
  if (take <= 0) return [];
  if (take === 1) return [orders[0] as T];
  return Array.from({ length: take }, (_, index) => orders[Math.round((index * (orders.length - 1)) / (take - 1))] as T);
}
