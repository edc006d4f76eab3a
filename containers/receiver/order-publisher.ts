import { PublishBatchCommand, type MessageAttributeValue, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
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

/** One caller's order, from publish() until it is answered. */
interface Entry {
  order: Order;
  message: string;
  attributes: Record<string, MessageAttributeValue>;
  /** Bytes SNS counts against its limits: the message, and each attribute's name, type and value. */
  bytes: number;
  resolve(messageId: string): void;
  reject(error: PublishError): void;
  settled: boolean;
  /** The call carrying it, once sent. */
  call: Call | undefined;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

interface Call {
  entries: Entry[];
  /** Aborted only once every caller in the call has been answered (their deadlines passed). */
  controller: AbortController;
  unsettled: number;
  returned: boolean;
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
 * PublishBatch calls of at most 10 entries and 256 KiB.
 *
 * - With no call in flight an order is sent at once: a lone request waits for nothing.
 * - While calls are in flight, orders queue and are sent when 10 (or 256 KiB) are queued, when
 *   the last call in flight returns, or after `lingerMs`, whichever comes first; at most
 *   `maxCallsInFlight` calls at once. An order too large for a batch with others goes in a call
 *   of its own, so SNS's refusal reaches only its caller.
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
  private readonly sns: SNSClient;
  private readonly topicArn: string;
  private readonly timeoutMs: number;
  private readonly lingerMs: number;
  private readonly maxCallsInFlight: number;
  private readonly logger: Logger | undefined;

  private readonly queue: Entry[] = [];
  private queuedBytes = 0;
  private callsInFlight = 0;
  private linger: NodeJS.Timeout | undefined;
  /** The linger ran out while calls were at their cap: what is queued goes as soon as a call may. */
  private overdue = false;
  private draining = false;

  constructor(sns: SNSClient, topicArn: string, options: SnsOrderPublisherOptions = {}) {
    this.sns = sns;
    this.topicArn = topicArn;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    this.lingerMs = options.lingerMs ?? DEFAULT_BATCH_LINGER_MS;
    this.maxCallsInFlight = Math.max(1, options.maxCallsInFlight ?? DEFAULT_MAX_CALLS_IN_FLIGHT);
    this.logger = options.logger;
  }

  publish(order: Order, { requestId, acceptedAt, signal }: PublishMeta): Promise<string> {
    if (signal?.aborted) return Promise.reject(this.failure(order, this.drainCause()));
    const message = JSON.stringify(order);
    const attributes = orderMessageAttributes(requestId, acceptedAt);
    return new Promise<string>((resolve, reject) => {
      const entry: Entry = {
        order,
        message,
        attributes,
        bytes: Buffer.byteLength(message) + attributeBytes(attributes),
        resolve,
        reject,
        settled: false,
        call: undefined,
        timer: setTimeout(() => this.giveUp(entry, this.deadlineCause()), this.timeoutMs),
        signal,
        onAbort: () => this.giveUp(entry, this.drainCause()),
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
      this.queuedBytes += entry.bytes;
      this.pump(false);
    });
  }

  flush(): void {
    this.draining = true;
    this.pump(true);
  }

  /** Orders waiting to be sent, and calls in flight: for tests and diagnostics. */
  get pending(): { queued: number; callsInFlight: number } {
    return { queued: this.queue.length, callsInFlight: this.callsInFlight };
  }

  /**
   * Sends what may be sent now: with nothing in flight, whatever is queued; with calls in flight,
   * whole batches only, unless `all` (the linger ran out, or the drain) sends everything queued.
   * Calls stay within `maxCallsInFlight` except in the drain.
   */
  private pump(all: boolean): void {
    all ||= this.overdue;
    while (this.queue.length > 0) {
      if (!this.draining) {
        if (this.callsInFlight >= this.maxCallsInFlight) break;
        if (!all && this.callsInFlight > 0 && !this.wholeBatchQueued()) break;
      }
      this.send(this.takeBatch());
    }
    if (this.queue.length === 0) {
      this.overdue = false;
      clearTimeout(this.linger);
      this.linger = undefined;
    } else if (all) {
      this.overdue = true; // held back by the cap: sent as calls return
    } else if (this.linger === undefined) {
      this.linger = setTimeout(() => {
        this.linger = undefined;
        this.pump(true);
      }, this.lingerMs);
    }
  }

  private wholeBatchQueued(): boolean {
    return (
      this.queue.length >= PUBLISH_BATCH_MAX_ENTRIES ||
      this.queuedBytes >= PUBLISH_BATCH_MAX_BYTES ||
      this.queue[0]!.bytes > PUBLISH_BATCH_MAX_BYTES
    );
  }

  /** The longest batch from the head of the queue within SNS's limits; an oversized head goes alone. */
  private takeBatch(): Entry[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < PUBLISH_BATCH_MAX_ENTRIES) {
      const next = this.queue[count]!.bytes;
      if (count > 0 && bytes + next > PUBLISH_BATCH_MAX_BYTES) break;
      bytes += next;
      count += 1;
      if (bytes > PUBLISH_BATCH_MAX_BYTES) break;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count);
  }

  private send(entries: Entry[]): void {
    const call: Call = { entries, controller: new AbortController(), unsettled: entries.length, returned: false };
    for (const entry of entries) entry.call = call;
    this.callsInFlight += 1;
    this.logger?.debug({ event: 'sns.publish_batch', entries: entries.length, calls_in_flight: this.callsInFlight }, 'PublishBatch');
    const command = new PublishBatchCommand({
      TopicArn: this.topicArn,
      PublishBatchRequestEntries: entries.map(
        (entry, index): PublishBatchRequestEntry => ({ Id: String(index), Message: entry.message, MessageAttributes: entry.attributes }),
      ),
    });
    this.sns.send(command, { abortSignal: call.controller.signal }).then(
      ({ Successful = [], Failed = [] }) => {
        call.returned = true;
        for (const { Id, MessageId } of Successful) {
          const entry = entries[Number(Id)];
          if (entry && MessageId) this.settle(entry, MessageId);
        }
        for (const { Id, Code, Message, SenderFault } of Failed) {
          const entry = entries[Number(Id)];
          if (entry) this.settle(entry, this.failure(entry.order, new PublishBatchEntryError(Code ?? 'unknown', Message ?? '', SenderFault ?? false)));
        }
        for (const entry of entries) {
          if (!entry.settled) this.settle(entry, this.failure(entry.order, new Error('SNS answered the PublishBatch call without a result for the entry')));
        }
        this.returned();
      },
      (error: unknown) => {
        call.returned = true;
        for (const entry of entries) if (!entry.settled) this.settle(entry, this.failure(entry.order, error));
        this.returned();
      },
    );
  }

  private returned(): void {
    this.callsInFlight -= 1;
    this.pump(false);
  }

  /** The caller's deadline or drain signal fired first: it is answered now, and never sent later. */
  private giveUp(entry: Entry, cause: Error): void {
    if (entry.settled) return;
    if (entry.call === undefined) {
      const index = this.queue.indexOf(entry);
      if (index >= 0) {
        this.queue.splice(index, 1);
        this.queuedBytes -= entry.bytes;
        if (this.queue.length === 0) this.pump(false);
      }
    }
    this.settle(entry, this.failure(entry.order, cause));
  }

  private settle(entry: Entry, outcome: string | PublishError): void {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    entry.signal?.removeEventListener('abort', entry.onAbort);
    if (typeof outcome === 'string') entry.resolve(outcome);
    else entry.reject(outcome);
    const call = entry.call;
    if (call) {
      call.unsettled -= 1;
      // Nobody waits for the call any more: stop it (and the SDK's retries).
      if (call.unsettled === 0 && !call.returned) call.controller.abort();
    }
  }

  private failure(order: Order, cause: unknown): PublishError {
    return new PublishError(order.order_id, { cause });
  }

  private deadlineCause(): Error {
    return new Error(`SNS did not take the order within ${this.timeoutMs} ms (PUBLISH_TIMEOUT_MS)`);
  }

  private drainCause(): Error {
    return new Error('the receiver reached its drain deadline before SNS took the order');
  }
}
