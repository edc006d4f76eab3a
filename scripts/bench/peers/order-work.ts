import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { InvalidOrderError } from '../../../lib/errors.ts';
import { orderMessageAttributes } from '../../../lib/order-message.ts';
import { parseOrder, type Order } from '../../../lib/order-schema.ts';

/**
 * The work every receiver peer does per order, the same as the receiver's: parse the JSON body,
 * validate it with the project's schema (lib/order-schema.ts), publish it with one SNS `Publish`
 * (the order JSON, a request id and the acceptance time as message attributes, as the receiver
 * publishes it) and answer 202 with the message id; 400 naming the fields of an invalid order.
 * Only the HTTP framework around it differs from peer to peer. No logging: the peers do not log.
 */
export type PublishOrder = (order: Order) => Promise<string>;

export interface PeerAnswer {
  status: number;
  body: unknown;
}

/** Milliseconds one Publish may take, all SDK attempts together (the receiver's PUBLISH_TIMEOUT_MS default). */
const PUBLISH_TIMEOUT_MS = 6000;

/** One SNS Publish per order to `topicArn`; resolves with its message id. */
export function perOrderPublisher(sns: SNSClient, topicArn: string): PublishOrder {
  return async (order) => {
    const { MessageId } = await sns.send(
      new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(order), MessageAttributes: orderMessageAttributes(randomUUID(), Date.now()) }),
      { abortSignal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) },
    );
    if (!MessageId) throw new Error('SNS answered without a message id');
    return MessageId;
  };
}

const problem = (status: number, code: string, message: string, details?: unknown): PeerAnswer => ({
  status,
  body: { error: { code, message, ...(details ? { details } : {}) } },
});

/** Validates an already parsed body and publishes it: 202 with the message id, 400 naming the fields, 503 when SNS did not take it. */
export async function acceptParsedOrder(payload: unknown, publish: PublishOrder): Promise<PeerAnswer> {
  let order: Order;
  try {
    order = parseOrder(payload);
  } catch (error) {
    if (error instanceof InvalidOrderError) return problem(400, 'invalid_order', error.message, error.issues);
    throw error;
  }
  try {
    const messageId = await publish(order);
    return { status: 202, body: { status: 'accepted', order_id: order.order_id, message_id: messageId } };
  } catch {
    return problem(503, 'publish_failed', 'the order could not be queued and was not accepted; retry later');
  }
}

/** The same from the raw body text: 400 malformed_json when it is not JSON. */
export async function acceptOrderText(text: string, publish: PublishOrder): Promise<PeerAnswer> {
  let payload: unknown;
  try {
    payload = JSON.parse(text) as unknown;
  } catch (error) {
    return problem(400, 'malformed_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
  return acceptParsedOrder(payload, publish);
}

/** A started peer: its base URL and how to stop it. */
export interface RunningPeer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Listens on loopback with the keep-alive timeout a load balancer expects (longer than its 60 s
 * idle timeout); stop() closes it and every connection still open.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<RunningPeer> {
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
