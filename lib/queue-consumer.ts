import { EventEmitter } from 'node:events';
import {
  ChangeMessageVisibilityBatchCommand,
  type BatchResultErrorEntry,
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { callWithRetries, DEFAULT_RETRY, DeleteBatcher, GaveUp, SQS_BATCH_LIMIT, type RetryPolicy } from './delete-batcher.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { readQueueAttributes, type QueueAttributes } from './queue-attributes.ts';

/** What a message handler learns about the delivery besides the message itself. */
export interface DeliveryContext {
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** The queue's redrive limit; a failure at this count sends the message to the DLQ. */
  maxReceiveCount: number | undefined;
  /** Aborted when the consumer gives the message back at shutdown: stop working on it. */
  signal: AbortSignal;
}

export type MessageHandler = (message: Message, delivery: DeliveryContext) => Promise<void>;

/** SQS's longest visibility timeout, in seconds (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * What a handler throws to say "not now, give me this message again in `delayMs`": the message is
 * neither deleted nor counted as failed; its visibility is set to the delay (rounded up to whole
 * seconds, at most SQS's 12 hours) instead of the failure backoff. Like any delivery, the receive
 * still counts towards the queue's redrive limit.
 */
export class RetryAfter extends Error {
  readonly delayMs: number;

  constructor(delayMs: number, options?: { cause?: unknown }) {
    super(`retry after ${Math.round(delayMs)} ms`, options);
    this.name = 'RetryAfter';
    this.delayMs = Math.max(0, delayMs);
  }
}

/** The visibility (whole seconds) that brings a message back no earlier than `delayMs` from now. */
export function retryAfterSeconds(delayMs: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
}

export interface QueueConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handleMessage: MessageHandler;
  logger: Logger;
  /** Most messages being handled at once (1 to 1000). */
  concurrency: number;
  /** Long-poll wait per receive, 0 to 20 seconds. */
  waitTimeSeconds?: number;
  /**
   * Seconds a failed message stays invisible before its next delivery, doubling per receive
   * (capped at 15 minutes). 0 gives it back at once. The queue's redrive policy decides when it
   * stops coming back; after its last allowed receive a failed message is made visible at once,
   * so that SQS moves it to the DLQ without waiting out a backoff.
   */
  retryDelaySeconds?: number;
  /**
   * stop()'s whole deadline: waiting for handlers, giving back what is unfinished and the last
   * deletes all end within it (every call bounded by what is left of it).
   */
  shutdownTimeoutMs?: number;
  /**
   * Receive-error backoff of each poller: first and largest pause. Each poller backs off on its
   * own failures, and the first successful receive wakes the pollers still backing off, so the
   * consumer resumes at most `maxMs` after the queue is reachable again.
   */
  backoff?: { initialMs: number; maxMs: number };
  /** Retries of deletes and visibility changes (bounded attempts, and never past the handle's validity). */
  retry?: RetryPolicy;
}

const VALIDATION: [keyof QueueConsumerOptions, number, number][] = [
  ['concurrency', 1, 1000],
  ['waitTimeSeconds', 0, 20],
  ['retryDelaySeconds', 0, 900],
  ['shutdownTimeoutMs', 0, 3_600_000],
];

/** Long polls a consumer keeps open at once: one per ten slots (a receive takes at most ten), at most ten. */
export function pollerCount(concurrency: number): number {
  return Math.min(10, Math.ceil(concurrency / SQS_BATCH_LIMIT));
}

/**
 * How long a poller with some free slots, but fewer than a full receive, waits for more to free
 * before it asks anyway: a twentieth of the observed handler time (so a freed slot idles at most
 * about 5 % of a message's work), at least `GATHER_MIN_MS` (the completions of one turn of the
 * event loop gather even with instant handlers), at most `GATHER_MAX_MS`.
 */
export const GATHER_FRACTION = 0.05;
export const GATHER_MIN_MS = 5;
export const GATHER_MAX_MS = 100;

/** The gathering bound for an observed (average) handler time in ms. */
export function gatherBoundMs(handlerMs: number): number {
  return Math.min(GATHER_MAX_MS, Math.max(GATHER_MIN_MS, handlerMs * GATHER_FRACTION));
}

/** Visibility extensions of messages still being worked on: due every half timeout, at least every 500 ms apart. */
export function extensionIntervalMs(visibilityTimeoutSeconds: number): number {
  return Math.max(500, (visibilityTimeoutSeconds * 1000) / 2);
}

interface InFlight {
  message: Message;
  receiptHandle: string;
  controller: AbortController;
  released: boolean;
  /** The handler has returned or thrown: no more extensions. */
  settled: boolean;
  /** Epoch ms when the message's visibility ends (receive, or the last successful extension, plus the timeout). */
  validUntil: number;
  /** Epoch ms when its visibility is next to be extended. */
  extendAt: number;
  /** In an extension batch under way. */
  extending: boolean;
}

/** Part of stop()'s deadline kept for giving back unfinished messages and the last deletes: at most 5 s, at most half. */
export function shutdownReserveMs(shutdownTimeoutMs: number): number {
  return Math.min(5000, Math.floor(shutdownTimeoutMs / 2));
}

export interface ConsumerStats {
  inFlight: number;
  peakInFlight: number;
  succeeded: number;
  failed: number;
  released: number;
  /** Handled messages whose handler asked for them again later (RetryAfter); always set by the consumer. */
  deferred?: number;
}

/**
 * Drains an SQS queue with up to `concurrency` messages in flight: several long polls at once
 * (one per ten slots, each asking only for as many messages as there are free slots, so it never
 * holds a message it cannot start), deletes in batches what succeeded, shortens the visibility of
 * what failed so it is retried after a backoff, extends in batches the visibility of what is still
 * being worked on, and backs off while SQS is unreachable.
 *
 * Full receives: a poller with fewer than a full receive's worth of free slots, while other
 * messages are being worked on, lets more slots free for at most `gatherBoundMs` of the observed
 * handler time before it asks. It asks at once when it can take a full receive (ten, or all the
 * slots the other pollers leave), when nothing is in flight, or when its last receive came back
 * short (the queue is nearly empty: waiting would not fill the next one).
 *
 * A handler that throws RetryAfter gets its message back after the delay it asked for (its
 * visibility set to it), neither deleted nor counted as failed.
 *
 * Events: `message_processed` (message), `message_failed` (message, error), `message_deferred`
 * (message, delay in ms), `receive_error` (error).
 */
export class QueueConsumer extends EventEmitter {
  private readonly options: Required<QueueConsumerOptions>;
  private readonly deletes: DeleteBatcher;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly pollAbort = new AbortController();
  /** Aborted at the end of stop(): visibility changes still under way give up. */
  private readonly callAbort = new AbortController();
  /** Pollers backing off after a failed receive; the first successful receive wakes them. */
  private readonly backoffWakers = new Set<() => void>();
  /** Pollers waiting for free slots: for any (`gathering` false), or for a full receive's worth. */
  private readonly slotWaiters = new Map<() => void, { gathering: boolean }>();
  private readonly idleWaiters: (() => void)[] = [];
  private attributes: Promise<QueueAttributes> | undefined;
  private reserved = 0;
  private running = false;
  private pollers: Promise<void>[] = [];
  /** Failed receives (all pollers) since the last successful one, for the recovery log line. */
  private receiveFailures = 0;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private readonly counters = { peakInFlight: 0, succeeded: 0, failed: 0, released: 0, deferred: 0 };
  /** Moving average of the handler time (ms), for the gathering bound; undefined before the first. */
  private handlerMs: number | undefined;
  /** Sweeps the messages in flight for extensions that are due (started with the first message). */
  private extensionTimer: NodeJS.Timeout | undefined;
  private extensionEveryMs = 0;
  private extensionSweepMs = 0;

  constructor(options: QueueConsumerOptions) {
    super();
    this.options = {
      waitTimeSeconds: 20,
      retryDelaySeconds: 1,
      shutdownTimeoutMs: 25_000,
      backoff: { initialMs: 200, maxMs: 2000 },
      retry: DEFAULT_RETRY,
      ...options,
    };
    for (const [name, min, max] of VALIDATION) {
      const value = this.options[name] as number;
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
      }
    }
    this.deletes = new DeleteBatcher({ sqs: options.sqs, queueUrl: options.queueUrl, logger: options.logger, retry: this.options.retry });
  }

  get stats(): ConsumerStats {
    return { inFlight: this.inFlight.size, ...this.counters };
  }

  start(): void {
    if (this.running) return;
    if (this.pollAbort.signal.aborted) throw new Error('a stopped consumer cannot be started again; make a new one');
    this.running = true;
    const pollers = pollerCount(this.options.concurrency);
    this.pollers = Array.from({ length: pollers }, () => this.poll());
    this.options.logger.info(
      { event: 'consumer.started', queue_url: this.options.queueUrl, concurrency: this.options.concurrency, pollers },
      'consumer started',
    );
  }

  /**
   * Stops polling, waits for the messages in hand, gives back (visibility 0) any still unfinished
   * so another worker takes them at once (their handlers aborted, and awaited while they wind
   * down), and flushes pending deletes, all within
   * `shutdownTimeoutMs`: the wait ends `shutdownReserveMs` before that deadline, leaving the
   * rest for giving back and deleting, and every call still under way at the deadline is aborted.
   */
  async stop(): Promise<ConsumerStats> {
    if (!this.running) return this.stats;
    const deadline = Date.now() + this.options.shutdownTimeoutMs;
    this.stopDeadline = deadline;
    this.running = false;
    this.pollAbort.abort();
    for (const wake of [...this.slotWaiters.keys()]) wake();
    await Promise.all(this.pollers);

    const reserve = shutdownReserveMs(this.options.shutdownTimeoutMs);
    const drained = await this.waitForIdle(deadline - reserve - Date.now());
    await Promise.all([drained ? undefined : this.releaseInFlight(deadline), this.deletes.flush(deadline)]);
    // Handlers told to stop may still be settling (e.g. giving back a claim of their own): let them, within the deadline.
    if (!drained) await this.waitForIdle(deadline - Date.now());
    clearInterval(this.extensionTimer);
    this.callAbort.abort();
    const { inFlight, peakInFlight, succeeded, failed, released, deferred } = this.stats;
    this.options.logger.info(
      { event: 'consumer.stopped', in_flight: inFlight, peak_in_flight: peakInFlight, succeeded, failed, released, deferred },
      'consumer stopped',
    );
    return this.stats;
  }

  private async poll(): Promise<void> {
    let failures = 0;
    /** This poller's last receive brought fewer messages than it asked for: the queue is (nearly) empty. */
    let short = true;
    while (this.running) {
      const wanted = await this.reserveSlots(!short);
      if (!this.running) {
        this.reserved -= wanted;
        break;
      }
      let messages: Message[] = [];
      let attributes: QueueAttributes;
      try {
        attributes = await this.queueAttributes();
        const response = await this.options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: wanted,
            WaitTimeSeconds: this.options.waitTimeSeconds,
            VisibilityTimeout: attributes.visibilityTimeoutSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          }),
          { abortSignal: this.pollAbort.signal },
        );
        messages = response.Messages ?? [];
        failures = 0;
        this.noteReceiveSuccess();
      } catch (error) {
        this.reserved -= wanted;
        this.wakeSlotWaiters();
        if (!this.running) break;
        failures += 1;
        await this.backOff(error, failures);
        continue;
      }
      this.reserved -= wanted;
      short = messages.length < wanted;
      // The handles are valid one visibility timeout from (about) now: SQS started it as it answered.
      const validUntil = Date.now() + attributes.visibilityTimeoutSeconds * 1000;
      for (const message of messages) this.dispatch(message, validUntil, attributes);
      this.wakeSlotWaiters();
    }
  }

  /**
   * Waits for a free slot, then claims up to ten of the free ones for one receive. With `gather`
   * (the last receive came back full), while messages are in flight and fewer slots are free than
   * a full receive could take, it first waits for more to free, at most `gatherBoundMs` from when
   * the first of them was free.
   */
  private async reserveSlots(gather: boolean): Promise<number> {
    let gatherUntil: number | undefined;
    while (this.running) {
      const free = this.freeSlots();
      if (free <= 0) {
        gatherUntil = undefined;
        await this.waitForSlots(false);
        continue;
      }
      // Nothing in flight means free === full: nothing to wait for.
      if (!gather || free >= this.fullReceive()) break;
      gatherUntil ??= Date.now() + gatherBoundMs(this.handlerMs ?? 0);
      const left = gatherUntil - Date.now();
      if (left <= 0) break;
      await this.waitForSlots(true, left);
    }
    const wanted = Math.min(SQS_BATCH_LIMIT, Math.max(this.freeSlots(), 0));
    this.reserved += wanted;
    return wanted;
  }

  /**
   * Until a slot frees (`gathering`: until a full receive's worth is free), or stop(), or at most
   * `timeoutMs`.
   */
  private waitForSlots(gathering: boolean, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.slotWaiters.delete(wake);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, timeoutMs);
      this.slotWaiters.set(wake, { gathering });
    });
  }

  private freeSlots(): number {
    return this.options.concurrency - this.inFlight.size - this.reserved;
  }

  /** The most a poller that holds no reservation could take now: ten, or every slot the other pollers leave. */
  private fullReceive(): number {
    return Math.min(SQS_BATCH_LIMIT, this.options.concurrency - this.reserved);
  }

  /** Wakes the pollers that can go now: those waiting for any slot, and gatherers once a full receive is free. */
  private wakeSlotWaiters(): void {
    const free = this.freeSlots();
    if (free <= 0 || this.slotWaiters.size === 0) return;
    const full = free >= this.fullReceive();
    for (const [wake, { gathering }] of this.slotWaiters) if (full || !gathering) wake();
  }

  private queueAttributes(): Promise<QueueAttributes> {
    this.attributes ??= readQueueAttributes(this.options.sqs, this.options.queueUrl, this.pollAbort.signal).catch(
      (error: unknown) => {
        this.attributes = undefined;
        throw error;
      },
    );
    return this.attributes;
  }

  /** A receive worked: log the recovery once, and wake every poller still backing off to receive at once. */
  private noteReceiveSuccess(): void {
    if (this.receiveFailures > 0) {
      this.options.logger.info({ event: 'queue.receive_recovered', failures: this.receiveFailures }, 'queue reachable again');
    }
    this.receiveFailures = 0;
    for (const wake of [...this.backoffWakers]) wake();
  }

  /**
   * Pauses one poller after its `failures`-th receive failure in a row: exponential and jittered
   * on that poller's own count (a blip that fails every poller once costs each one short pause,
   * not a long one), ended early by stop() or by another poller's successful receive.
   */
  private async backOff(error: unknown, failures: number): Promise<void> {
    this.receiveFailures += 1;
    const { initialMs, maxMs } = this.options.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 20));
    const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.options.logger.warn(
      { event: 'queue.receive_failed', failures, retry_in_ms: delayMs, error: describeError(error) },
      'cannot receive from the queue; backing off',
    );
    this.emit('receive_error', error);
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.backoffWakers.delete(wake);
        this.pollAbort.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, delayMs);
      this.backoffWakers.add(wake);
      this.pollAbort.signal.addEventListener('abort', wake, { once: true });
    });
  }

  private dispatch(message: Message, validUntil: number, attributes: QueueAttributes): void {
    const handle = message.ReceiptHandle;
    if (!handle) return;
    this.startExtensions(attributes.visibilityTimeoutSeconds);
    const entry: InFlight = {
      message,
      receiptHandle: handle,
      controller: new AbortController(),
      released: false,
      settled: false,
      validUntil,
      extendAt: Date.now() + this.extensionEveryMs,
      extending: false,
    };
    this.inFlight.set(handle, entry);
    this.counters.peakInFlight = Math.max(this.counters.peakInFlight, this.inFlight.size);
    void this.handle(entry, handle, attributes);
  }

  private async handle(entry: InFlight, receiptHandle: string, attributes: QueueAttributes): Promise<void> {
    const { message, controller } = entry;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const started = performance.now();
    try {
      try {
        await this.options.handleMessage(message, {
          receiveCount,
          maxReceiveCount: attributes.maxReceiveCount,
          signal: controller.signal,
        });
      } finally {
        entry.settled = true;
        this.noteHandlerTime(performance.now() - started);
      }
      if (!entry.released) {
        this.deletes.add(message.MessageId ?? receiptHandle, receiptHandle, entry.validUntil);
        this.counters.succeeded += 1;
        this.emit('message_processed', message);
      }
    } catch (error) {
      if (!entry.released && error instanceof RetryAfter) {
        this.counters.deferred += 1;
        this.emit('message_deferred', message, error.delayMs);
        await this.setVisibility(entry, receiptHandle, retryAfterSeconds(error.delayMs));
      } else if (!entry.released) {
        this.counters.failed += 1;
        this.emit('message_failed', message, error);
        await this.setVisibility(entry, receiptHandle, this.retryDelay(receiveCount, attributes.maxReceiveCount));
      }
    } finally {
      this.inFlight.delete(receiptHandle);
      this.wakeSlotWaiters();
      if (this.inFlight.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * The invisibility after a failure: the backoff, or none after the last receive the redrive
   * allows, since the next receive moves the message to the DLQ rather than delivering it.
   */
  private retryDelay(receiveCount: number, maxReceiveCount: number | undefined): number {
    if (maxReceiveCount !== undefined && receiveCount >= maxReceiveCount) return 0;
    return Math.min(900, this.options.retryDelaySeconds * 2 ** Math.max(0, receiveCount - 1));
  }

  private noteHandlerTime(ms: number): void {
    this.handlerMs = this.handlerMs === undefined ? ms : this.handlerMs + (ms - this.handlerMs) / 10;
  }

  /**
   * The visibility heartbeat: one timer for the whole consumer that, every quarter of the
   * extension interval, collects the messages whose extension is due before its next round and
   * extends them in ChangeMessageVisibilityBatch calls of up to ten (a message is extended at most
   * a quarter interval early).
   */
  private startExtensions(visibilityTimeoutSeconds: number): void {
    if (this.extensionTimer) return;
    this.extensionEveryMs = extensionIntervalMs(visibilityTimeoutSeconds);
    this.extensionSweepMs = this.extensionEveryMs / 4;
    this.extensionTimer = setInterval(() => this.extendDue(visibilityTimeoutSeconds), this.extensionSweepMs);
    this.extensionTimer.unref();
  }

  private extendDue(visibilityTimeoutSeconds: number): void {
    const horizon = Date.now() + this.extensionSweepMs;
    const due: InFlight[] = [];
    for (const entry of this.inFlight.values()) {
      if (entry.released || entry.settled || entry.extending || entry.extendAt > horizon) continue;
      entry.extending = true;
      due.push(entry);
    }
    for (let start = 0; start < due.length; start += SQS_BATCH_LIMIT) {
      void this.extendBatch(due.slice(start, start + SQS_BATCH_LIMIT), visibilityTimeoutSeconds);
    }
  }

  /**
   * Extends the visibility of up to ten messages in one call. Like a single call: retried (bounded
   * attempts, backoff) for the entries SQS could not change for want of an answer or a server
   * error, each only while its handle is valid and stop()'s deadline is ahead; an entry SQS
   * refused is given up at once. Messages finished or given back meanwhile drop out. On success
   * an entry's handle is valid `seconds` from the moment its call was sent.
   */
  private async extendBatch(batch: InFlight[], seconds: number): Promise<void> {
    let remaining = batch;
    let attempts = 0;
    const giveUp = (entries: InFlight[], error: unknown) => {
      for (const entry of entries) this.reportVisibilityFailure(entry, seconds, attempts, error);
    };
    try {
      await callWithRetries(
        async (signal, attempt) => {
          attempts = attempt;
          const now = Date.now();
          remaining = remaining.filter((entry) => !entry.settled && !entry.released);
          const expired = remaining.filter((entry) => entry.validUntil <= now);
          if (expired.length > 0) {
            giveUp(expired, new Error('receipt handle expired before the visibility could be extended'));
            // The message may be someone else's by now: its extensions stop.
            for (const entry of expired) entry.extendAt = Number.POSITIVE_INFINITY;
          }
          remaining = remaining.filter((entry) => entry.validUntil > now);
          if (remaining.length === 0) return [];
          const sending = remaining;
          const { Failed = [] } = await this.options.sqs.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.options.queueUrl,
              Entries: sending.map((entry, index) => ({ Id: `v${index}`, ReceiptHandle: entry.receiptHandle, VisibilityTimeout: seconds })),
            }),
            { abortSignal: signal },
          );
          const failed = new Map<InFlight, BatchResultErrorEntry>();
          for (const failure of Failed) {
            const entry = sending[Number(failure.Id?.slice(1))];
            if (entry) failed.set(entry, failure);
          }
          const retry: InFlight[] = [];
          for (const entry of sending) {
            const failure = failed.get(entry);
            if (!failure) {
              entry.validUntil = now + seconds * 1000;
              entry.extendAt = now + this.extensionEveryMs;
            } else if (failure.SenderFault) {
              giveUp([entry], Object.assign(new Error(failure.Message ?? 'refused'), { name: failure.Code ?? 'SenderFault' }));
            } else retry.push(entry);
          }
          remaining = retry;
          return retry;
        },
        {
          deadline: Math.min(Math.max(...batch.map((entry) => entry.validUntil)), this.stopDeadline),
          signal: this.callAbort.signal,
          policy: this.options.retry,
          shouldRetry: (retry) => retry.length > 0,
        },
      );
    } catch (error) {
      giveUp(remaining, error);
      // Past its handle's validity a message is not extended again (nor logged every round).
      const now = Date.now();
      for (const entry of remaining) if (entry.validUntil <= now) entry.extendAt = Number.POSITIVE_INFINITY;
    } finally {
      for (const entry of batch) entry.extending = false;
    }
  }

  private reportVisibilityFailure(entry: InFlight, seconds: number, attempts: number | undefined, error: unknown): void {
    this.options.logger.warn(
      {
        event: 'queue.visibility_failed',
        message_id: entry.message.MessageId,
        visibility_seconds: seconds,
        attempts,
        error: describeError(error instanceof GaveUp && error.cause ? error.cause : error),
      },
      'cannot change message visibility',
    );
  }

  /**
   * Sets a message's visibility, retrying (bounded attempts, backoff) while its receipt handle is
   * still valid and stop()'s deadline is ahead. On success the handle is valid `seconds` from the
   * moment the call was sent.
   */
  private async setVisibility(entry: InFlight, receiptHandle: string, seconds: number): Promise<void> {
    let sentAt = Date.now();
    try {
      await callWithRetries(
        (signal) => {
          sentAt = Date.now();
          return this.options.sqs.send(
            new ChangeMessageVisibilityCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }),
            { abortSignal: signal },
          );
        },
        { deadline: Math.min(entry.validUntil, this.stopDeadline), signal: this.callAbort.signal, policy: this.options.retry },
      );
      entry.validUntil = sentAt + seconds * 1000;
    } catch (error) {
      this.reportVisibilityFailure(entry, seconds, error instanceof GaveUp ? error.attempts : undefined, error);
    }
  }

  private waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Gives every unfinished message back to the queue (visibility 0) and stops its handler: the
   * batches go at once, each retried (bounded attempts, backoff) until `deadline`, when the calls
   * still under way are aborted.
   */
  private async releaseInFlight(deadline: number): Promise<void> {
    const entries = [...this.inFlight.entries()];
    for (const [, entry] of entries) {
      entry.released = true;
      entry.controller.abort();
    }
    const batches: [string, InFlight][][] = [];
    for (let start = 0; start < entries.length; start += SQS_BATCH_LIMIT) batches.push(entries.slice(start, start + SQS_BATCH_LIMIT));
    await Promise.all(
      batches.map(async (batch) => {
        let remaining = batch;
        try {
          await callWithRetries(
            async (signal) => {
              const { Failed = [] } = await this.options.sqs.send(
                new ChangeMessageVisibilityBatchCommand({
                  QueueUrl: this.options.queueUrl,
                  Entries: remaining.map(([receiptHandle], index) => ({ Id: `r${index}`, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 })),
                }),
                { abortSignal: signal },
              );
              // Entries SQS refused (an expired handle: the message is visible already) are not retried.
              remaining = Failed.filter((failure) => !failure.SenderFault)
                .map((failure) => remaining[Number(failure.Id?.slice(1))])
                .filter((entry) => entry !== undefined);
              return remaining;
            },
            { deadline, signal: this.callAbort.signal, policy: this.options.retry, shouldRetry: (left) => left.length > 0 },
          );
        } catch (error) {
          this.options.logger.warn(
            {
              event: 'queue.release_failed',
              count: remaining.length,
              attempts: error instanceof GaveUp ? error.attempts : undefined,
              error: describeError(error instanceof GaveUp && error.cause ? error.cause : error),
            },
            'cannot give messages back; they return after their visibility timeout',
          );
        }
      }),
    );
    this.counters.released += entries.length;
    this.options.logger.info({ event: 'consumer.released', count: entries.length }, 'unfinished messages given back to the queue');
  }
}
