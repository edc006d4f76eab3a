import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';

/** SQS takes at most ten entries per batch call. */
export const SQS_BATCH_LIMIT = 10;

/** How long the first finished message waits for nine more before its batch goes anyway. */
export const DELETE_BATCH_DELAY_MS = 50;

/** Delete batches under way at once; more wait their turn (default of `maxBatchesInFlight`). */
export const DELETE_BATCHES_IN_FLIGHT = 10;

/**
 * How deletes and visibility changes are retried: at most `attempts` calls, `initialMs` doubling
 * up to `maxMs` between them, each call given at most `attemptTimeoutMs` and never past its
 * deadline (the receipt handle's validity, or the consumer's shutdown deadline).
 */
export interface RetryPolicy {
  attempts: number;
  initialMs: number;
  maxMs: number;
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, initialMs: 100, maxMs: 2000, attemptTimeoutMs: 5000 };

/** A failure worth another try: no answer, a timeout, throttling or a server error; not a refusal of the request itself. */
export function isRetryable(error: unknown): boolean {
  const { name, $fault } = (error ?? {}) as { name?: string; $fault?: string };
  if (name && /Throttl|RequestThrottled|OverLimit|SlowDown/i.test(name)) return true;
  return $fault !== 'client';
}

/** The error of a call that gave up (attempts, deadline), with how many calls were made. */
export class GaveUp extends Error {
  readonly attempts: number;
  constructor(message: string, attempts: number, cause: unknown) {
    super(message, { cause });
    this.name = 'GaveUp';
    this.attempts = attempts;
  }
}

/**
 * Calls `call` until it succeeds, with the policy's backoff between tries, while the deadline
 * (epoch ms) is ahead and `signal` is not aborted. Each try gets an abort signal that fires when
 * its own timeout, the deadline or `signal` comes first. Returns the successful result; throws
 * the last error (wrapped in GaveUp, with the number of calls) when it stops trying.
 * `call` may return `{ retry: value }` to ask for another try on part of the work.
 */
export async function callWithRetries<T>(
  call: (signal: AbortSignal, attempt: number) => Promise<T>,
  options: { deadline: number; signal?: AbortSignal; policy?: RetryPolicy; shouldRetry?: (result: T) => boolean },
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  let attempt = 0;
  let lastError: unknown = new Error('deadline passed before the first try');
  while (attempt < policy.attempts && !options.signal?.aborted) {
    const left = options.deadline - Date.now();
    if (left <= 0) break;
    attempt += 1;
    const signals = [AbortSignal.timeout(Math.min(policy.attemptTimeoutMs, left))];
    if (options.signal) signals.push(options.signal);
    try {
      const result = await call(AbortSignal.any(signals), attempt);
      if (!options.shouldRetry?.(result)) return result;
      lastError = new Error('part of the request failed');
    } catch (error) {
      lastError = error;
      if (!isRetryable(error)) throw new GaveUp(`refused: ${describeError(error).message}`, attempt, error);
    }
    if (attempt >= policy.attempts) break;
    const pause = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1), options.deadline - Date.now());
    if (pause <= 0) break;
    await sleep(pause, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
  }
  throw new GaveUp(`gave up after ${attempt} ${attempt === 1 ? 'try' : 'tries'}`, attempt, lastError);
}

interface PendingDelete {
  id: string;
  receiptHandle: string;
  /** Epoch ms after which the receipt handle may no longer be valid (the message's visibility ends). */
  validUntil: number;
}

export interface DeleteBatcherOptions {
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  maxDelayMs?: number;
  /** Batches being sent (and retried) at once; the rest wait. */
  maxBatchesInFlight?: number;
  retry?: RetryPolicy;
}

/**
 * Deletes finished messages in batches of up to ten: a batch goes when it is full or when the
 * oldest entry has waited `maxDelayMs`, with at most `maxBatchesInFlight` batches under way.
 * A delete that fails for want of an answer (or for a server error) is retried with backoff while
 * its receipt handle is still valid, so an order finished during a short outage is deleted once
 * the queue is back rather than delivered again. What still fails is logged and left alone: the
 * message becomes visible again and is delivered once more (SQS is at-least-once either way).
 */
export class DeleteBatcher {
  private pending: PendingDelete[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly idleWaiters: (() => void)[] = [];
  /** Aborted at the flush deadline: every call still under way stops. */
  private readonly abort = new AbortController();
  private deadline = Number.POSITIVE_INFINITY;
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger;
  private readonly maxDelayMs: number;
  private readonly maxBatchesInFlight: number;
  private readonly retry: RetryPolicy;

  constructor(options: DeleteBatcherOptions) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.logger = options.logger;
    this.maxDelayMs = options.maxDelayMs ?? DELETE_BATCH_DELAY_MS;
    this.maxBatchesInFlight = options.maxBatchesInFlight ?? DELETE_BATCHES_IN_FLIGHT;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Batches under way now (never more than `maxBatchesInFlight`). */
  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  /** `validUntil`: epoch ms when the message's visibility ends; no retry is made after it. */
  add(messageId: string, receiptHandle: string, validUntil = Number.POSITIVE_INFINITY): void {
    this.pending.push({ id: messageId, receiptHandle, validUntil });
    if (this.pending.length >= SQS_BATCH_LIMIT) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), this.maxDelayMs);
  }

  /**
   * Sends everything pending and waits for every batch under way, but not past `deadline`
   * (epoch ms): then the calls still under way are aborted and what is left is logged as not
   * deleted. Nothing added afterwards is retried past the deadline either.
   */
  async flush(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    this.deadline = Math.min(this.deadline, deadline);
    this.flushNow();
    if (this.pending.length === 0 && this.inFlight.size === 0) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const left = this.deadline - Date.now();
    if (!Number.isFinite(left)) return idle;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, left))));
    await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (this.pending.length > 0 || this.inFlight.size > 0) {
      this.abort.abort();
      const left = this.pending.splice(0);
      if (left.length > 0) this.reportNotDeleted(left, new Error('shutdown deadline reached before the delete was sent'), 0);
      await Promise.all([...this.inFlight]);
    }
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0 && this.inFlight.size < this.maxBatchesInFlight) {
      const batch = this.pending.splice(0, SQS_BATCH_LIMIT);
      const sending: Promise<void> = this.send(batch).finally(() => {
        this.inFlight.delete(sending);
        this.flushNow();
        if (this.pending.length === 0 && this.inFlight.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
      this.inFlight.add(sending);
    }
  }

  private async send(batch: PendingDelete[]): Promise<void> {
    let remaining = batch;
    const deadline = Math.min(this.deadline, Math.max(...batch.map((entry) => entry.validUntil)));
    try {
      await callWithRetries(
        async (signal) => {
          // An entry whose handle may have expired is not worth sending again.
          const now = Date.now();
          const expired = remaining.filter((entry) => entry.validUntil <= now);
          if (expired.length > 0) this.reportNotDeleted(expired, new Error('receipt handle expired before the delete succeeded'), 0);
          remaining = remaining.filter((entry) => entry.validUntil > now);
          if (remaining.length === 0) return [];
          // Batch entry ids must be unique and alphanumeric; message ids are, but index them to be sure.
          const entries = remaining.map((entry, index) => ({ Id: `m${index}`, ReceiptHandle: entry.receiptHandle }));
          const { Failed = [] } = await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }), {
            abortSignal: signal,
          });
          const retry: PendingDelete[] = [];
          for (const failure of Failed) {
            const entry = remaining[Number(failure.Id?.slice(1))];
            if (!entry) continue;
            if (failure.SenderFault) {
              this.logger.warn(
                { event: 'queue.delete_failed', message_id: entry.id, error: { code: failure.Code, message: failure.Message } },
                'message not deleted; it will be delivered again',
              );
            } else retry.push(entry);
          }
          remaining = retry;
          return retry;
        },
        { deadline, signal: this.abort.signal, policy: this.retry, shouldRetry: (retry) => retry.length > 0 },
      );
    } catch (error) {
      if (remaining.length > 0) this.reportNotDeleted(remaining, error, (error as GaveUp).attempts ?? 0);
    }
  }

  private reportNotDeleted(entries: PendingDelete[], error: unknown, attempts: number): void {
    const cause = error instanceof GaveUp && error.cause ? error.cause : error;
    this.logger.warn(
      {
        event: 'queue.delete_failed',
        message_ids: entries.map((entry) => entry.id),
        attempts,
        reason: error instanceof Error ? error.message : String(error),
        error: describeError(cause),
      },
      'batch not deleted; its messages will be delivered again',
    );
  }
}
