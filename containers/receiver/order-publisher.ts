import { PublishBatchCommand, type MessageAttributeValue, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { CallBatcher } from '../../lib/call-batcher.ts';
import { PublishError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
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
  /**
   * The receiver is draining: send whatever waits to be batched at once, and from now on send
   * every order as it comes, waiting for nothing. Optional: a publisher that holds nothing back
   * has nothing to flush.
   */
  flush?(): void;
}

/** How long one publish may take, all SDK attempts and their backoff together (PUBLISH_TIMEOUT_MS). */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 6_000;

/** SNS's limits on one PublishBatch call: entries, and bytes of messages and attributes together. */
export const PUBLISH_BATCH_MAX_ENTRIES = 10;
export const PUBLISH_BATCH_MAX_BYTES = 256 * 1024;

/**
 * The longest an order waits to be batched while other calls are in flight. Usually the last call
 * in flight returns sooner and sends it; with nothing in flight it waits for nothing at all.
 */
export const DEFAULT_BATCH_LINGER_MS = 5;

/**
 * PublishBatch calls in flight at once (the SNS client's socket pool is sized to match; see
 * containers/receiver/main.ts). Beyond it orders wait for a call to return, in fuller batches.
 */
export const DEFAULT_MAX_CALLS_IN_FLIGHT = 50;

/**
 * The receiver's SNS client (main.ts; the benchmark runs the receiver with the same): three SDK
 * attempts of 2 s fit the publish deadline (PUBLISH_TIMEOUT_MS, 6 s by default), which bounds them
 * all together. One socket per PublishBatch call the publisher keeps in flight: a call never waits
 * in the SDK for a socket (a wait no timeout sees), and sockets stay bounded however many
 * connections the receiver serves. 50 calls of up to 10 orders carry 500 orders at once, at about
 * 20 ms a call some 25,000 orders/s: several times what one task's CPU accepts, so the pool never
 * limits.
 */
export const SNS_CLIENT_OPTIONS = { maxAttempts: 3, requestTimeoutMs: 2_000, maxSockets: DEFAULT_MAX_CALLS_IN_FLIGHT };

export interface SnsOrderPublisherOptions {
  /** Each publish's total deadline across the SDK's attempts; past it the order is not accepted. */
  timeoutMs?: number;
  /** The bounded wait for a batch to fill while other calls are in flight (DEFAULT_BATCH_LINGER_MS). */
  lingerMs?: number;
  /** PublishBatch calls in flight at once, outside the drain (DEFAULT_MAX_CALLS_IN_FLIGHT). */
  maxCallsInFlight?: number;
  /** For a debug line per call (`sns.publish_batch`: entries, bytes). */
  logger?: Logger | undefined;
}

/** SNS did not take one entry of a PublishBatch call: its Code and Message, as SNS gave them. */
export class PublishBatchEntryError extends Error {
  readonly code: string;
  readonly senderFault: boolean;

  constructor(code: string, message: string, senderFault: boolean) {
    super(`SNS did not take the entry: ${code}: ${message}`);
    this.name = 'PublishBatchEntryError';
    this.code = code;
    this.senderFault = senderFault;
  }
}

function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/**
 * The receiver's publisher: orders published at about the same time go to SNS together, in
 * PublishBatch calls of at most 10 entries and 256 KiB, gathered by lib/call-batcher.ts: a lone
 * order is sent at once; while calls are in flight orders wait for a whole batch, the last call's
 * return or `lingerMs`; an order too large for a batch with others goes alone.
 *
 * - Each caller gets its own MessageId, or a PublishError for its own failed entry (SNS's Code
 *   and Message in the cause); a call that fails as a whole (network, throttling after the SDK's
 *   retries) fails each caller in it.
 * - Each caller keeps its own deadline (`timeoutMs`) and drain signal: an order still queued when
 *   either fires leaves the queue unsent and fails; one already sent fails at that moment, while
 *   the call goes on for its other callers and is aborted only once none of them is waiting.
 * - flush() (the receiver's drain) sends everything queued at once and ends batching: from then
 *   on each order is sent as it comes. Nothing accepted is left unsent or unanswered.
 */
export class SnsOrderPublisher implements OrderPublisher {
  private readonly batcher: CallBatcher<PublishBatchRequestEntry, string>;
  private readonly timeoutMs: number;

  constructor(sns: SNSClient, topicArn: string, options: SnsOrderPublisherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    const logger = options.logger;
    this.batcher = new CallBatcher<PublishBatchRequestEntry, string>({
      maxEntries: PUBLISH_BATCH_MAX_ENTRIES,
      maxBytes: PUBLISH_BATCH_MAX_BYTES,
      lingerMs: options.lingerMs ?? DEFAULT_BATCH_LINGER_MS,
      maxCallsInFlight: options.maxCallsInFlight ?? DEFAULT_MAX_CALLS_IN_FLIGHT,
      timeoutMs: this.timeoutMs,
      deadlineError: () => new Error(`SNS did not take the order within ${this.timeoutMs} ms (PUBLISH_TIMEOUT_MS)`),
      abortError: () => new Error('the receiver reached its drain deadline before SNS took the order'),
      send: async (entries, signal) => {
        // The batcher counts this call among those in flight before it sends it.
        logger?.debug({ event: 'sns.publish_batch', entries: entries.length, calls_in_flight: this.batcher.pending.callsInFlight }, 'PublishBatch');
        const command = new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: entries.map((entry, index) => ({ ...entry, Id: String(index) })),
        });
        const { Successful = [], Failed = [] } = await sns.send(command, { abortSignal: signal });
        const outcomes = new Array<string | Error | undefined>(entries.length);
        for (const { Id, MessageId } of Successful) if (MessageId) outcomes[Number(Id)] = MessageId;
        for (const { Id, Code, Message, SenderFault } of Failed) {
          outcomes[Number(Id)] = new PublishBatchEntryError(Code ?? 'unknown', Message ?? '', SenderFault ?? false);
        }
        // An Error (and its stack) only for an entry SNS left unanswered, not one per entry sent.
        for (let index = 0; index < outcomes.length; index += 1) {
          outcomes[index] ??= new Error('SNS answered the PublishBatch call without a result for the entry');
        }
        return outcomes as (string | Error)[];
      },
    });
  }

  async publish(order: Order, { requestId, acceptedAt, signal }: PublishMeta): Promise<string> {
    const message = JSON.stringify(order);
    const attributes = orderMessageAttributes(requestId, acceptedAt);
    try {
      return await this.batcher.submit(
        { Id: '', Message: message, MessageAttributes: attributes },
        { bytes: Buffer.byteLength(message) + attributeBytes(attributes), signal },
      );
    } catch (error) {
      throw new PublishError(order.order_id, { cause: error });
    }
  }

  flush(): void {
    this.batcher.flush();
  }

  /** Orders waiting to be sent, and calls in flight: for tests and diagnostics. */
  get pending(): { queued: number; callsInFlight: number } {
    return this.batcher.pending;
  }
}
