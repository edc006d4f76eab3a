/**
 * Gathers concurrent requests into batch calls (SNS PublishBatch, DynamoDB BatchGetItem and
 * BatchWriteItem): the AWS SDK's cost is per call, whatever it carries, and so is AWS's bill for
 * most of them, so a busy process makes a tenth of the calls or fewer.
 *
 * - With no call in flight an item is sent at once: a lone request waits for nothing.
 * - While calls are in flight, items queue and are sent when a whole batch is queued (`maxEntries`
 *   or `maxBytes`), when the last call in flight returns, or after `lingerMs`, whichever comes
 *   first; at most `maxCallsInFlight` calls at once. An item too large for a batch with others
 *   goes in a call of its own, so a refusal of its size reaches only its caller.
 * - Each caller gets its own outcome: `send` answers per item, and a call that fails as a whole
 *   fails each item in it.
 * - Each caller keeps its own deadline (`timeoutMs`) and abort signal: an item still queued when
 *   either fires leaves the queue unsent and fails; one already sent fails at that moment, while
 *   the call goes on for its other items and is aborted only once none of them is waiting.
 * - flush() (a drain) sends everything queued at once and ends batching: from then on each item is
 *   sent as it comes. Nothing submitted is left unsent or unanswered.
 */
export interface CallBatcherOptions<I, O> {
  /** Items per call at most. */
  maxEntries: number;
  /** Bytes per call at most, counted by `submit`'s `bytes`; unbounded when absent. */
  maxBytes?: number;
  /** The bounded wait for a batch to fill while other calls are in flight. */
  lingerMs: number;
  /** Calls in flight at once, outside the drain. */
  maxCallsInFlight: number;
  /**
   * Prefer full calls: a partial batch goes only when the linger runs out (or an item arrives to
   * an idle batcher with nothing queued: a lone request still waits for nothing), not as soon as
   * the last call in flight returns. Under load a call then carries what arrives in `lingerMs`,
   * up to `maxEntries`, instead of what arrived during the previous call. For calls whose cost is
   * per call and that answer quickly (the orders table), at the price of up to `lingerMs` more.
   */
  preferFull?: boolean;
  /** Each item's deadline from its submit; past it the caller is answered with `deadlineError()`. */
  timeoutMs: number;
  /**
   * Sends one batch. Resolves with one outcome per item, in the items' order: its value, or an
   * Error for that item alone. Rejecting fails every item of the call.
   */
  send(items: I[], signal: AbortSignal): Promise<(O | Error)[]>;
  /** What a caller whose deadline passed is answered. */
  deadlineError(): Error;
  /** What a caller whose own signal aborted is answered. */
  abortError(): Error;
}

/** One caller's item, from submit() until it is answered. */
interface Entry<I, O> {
  item: I;
  bytes: number;
  resolve(value: O): void;
  reject(error: Error): void;
  settled: boolean;
  /** The call carrying it, once sent. */
  call: Call | undefined;
  /** performance.now() past which the caller is answered deadlineError(). */
  deadline: number;
  signal: AbortSignal | undefined;
}

/** The callers waiting on one abort signal, and the one listener the batcher keeps on it for them. */
interface Watched {
  waiting: number;
  onAbort: () => void;
}

interface Call {
  /** Aborted only once every caller in the call has been answered (their deadlines passed). */
  controller: AbortController;
  unsettled: number;
  returned: boolean;
}

export class CallBatcher<I, O> {
  private readonly options: CallBatcherOptions<I, O>;
  private readonly queue: Entry<I, O>[] = [];
  private queuedBytes = 0;
  private callsInFlight = 0;
  private linger: NodeJS.Timeout | undefined;
  /** The linger ran out while calls were at their cap: what is queued goes as soon as a call may. */
  private overdue = false;
  private draining = false;
  /**
   * Every caller not yet answered, in submit order (answered ones are dropped from the head as
   * they go): every item has the same timeoutMs, so the head's deadline comes first, and one timer
   * set for it serves them all, instead of a timer per item.
   */
  private unanswered: Entry<I, O>[] = [];
  private unansweredHead = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** One abort listener per signal, however many of its callers wait (a receiver passes the same drain signal with every item). */
  private readonly watched = new Map<AbortSignal, Watched>();

  constructor(options: CallBatcherOptions<I, O>) {
    this.options = { ...options, maxCallsInFlight: Math.max(1, options.maxCallsInFlight), maxEntries: Math.max(1, options.maxEntries) };
  }

  /** Queues `item` for the next call; resolves with its own outcome. */
  submit(item: I, { bytes = 0, signal }: { bytes?: number; signal?: AbortSignal | undefined } = {}): Promise<O> {
    if (signal?.aborted) return Promise.reject(this.options.abortError());
    const lone = this.queue.length === 0 && this.callsInFlight === 0;
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = { item, bytes, resolve, reject, settled: false, call: undefined, deadline: performance.now() + this.options.timeoutMs, signal };
      this.unanswered.push(entry);
      this.deadlineTimer ??= setTimeout(() => this.passDeadlines(), this.options.timeoutMs);
      if (signal) this.watch(signal);
      this.queue.push(entry);
      this.queuedBytes += bytes;
      this.pump(this.options.preferFull === true && lone);
    });
  }

  /** Sends everything queued now, and every later item as it comes. */
  flush(): void {
    this.draining = true;
    this.pump(true);
  }

  /** Items waiting to be sent, and calls in flight: for tests and diagnostics. */
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
        if (this.callsInFlight >= this.options.maxCallsInFlight) break;
        const waitForMore = this.options.preferFull === true || this.callsInFlight > 0;
        if (!all && waitForMore && !this.wholeBatchQueued()) break;
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
      }, this.options.lingerMs);
    }
  }

  private wholeBatchQueued(): boolean {
    const { maxEntries, maxBytes = Number.POSITIVE_INFINITY } = this.options;
    return this.queue.length >= maxEntries || this.queuedBytes >= maxBytes || this.queue[0]!.bytes > maxBytes;
  }

  /** The longest batch from the head of the queue within the limits; an oversized head goes alone. */
  private takeBatch(): Entry<I, O>[] {
    const { maxEntries, maxBytes = Number.POSITIVE_INFINITY } = this.options;
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < maxEntries) {
      const next = this.queue[count]!.bytes;
      if (count > 0 && bytes + next > maxBytes) break;
      bytes += next;
      count += 1;
      if (bytes > maxBytes) break;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count);
  }

  private send(entries: Entry<I, O>[]): void {
    const call: Call = { controller: new AbortController(), unsettled: entries.length, returned: false };
    for (const entry of entries) entry.call = call;
    this.callsInFlight += 1;
    const finished = () => {
      call.returned = true;
      this.callsInFlight -= 1;
      this.pump(false);
    };
    let sending: Promise<(O | Error)[]>;
    try {
      sending = this.options.send(
        entries.map((entry) => entry.item),
        call.controller.signal,
      );
    } catch (error) {
      sending = Promise.reject(error as Error);
    }
    sending.then(
      (outcomes) => {
        call.returned = true;
        entries.forEach((entry, index) => {
          const outcome = outcomes[index];
          this.settle(entry, outcome === undefined ? new Error('the call answered without an outcome for the item') : outcome);
        });
        finished();
      },
      (error: unknown) => {
        call.returned = true;
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const entry of entries) this.settle(entry, failure);
        finished();
      },
    );
  }

  /** The caller's deadline or signal fired first: it is answered now, and never sent later. */
  private giveUp(entry: Entry<I, O>, error: Error): void {
    if (entry.settled) return;
    if (entry.call === undefined) {
      const index = this.queue.indexOf(entry);
      if (index >= 0) {
        this.queue.splice(index, 1);
        this.queuedBytes -= entry.bytes;
        if (this.queue.length === 0) this.pump(false);
      }
    }
    this.settle(entry, error);
  }

  /** Answers the callers whose deadline has passed, and sets the timer for the next one's. */
  private passDeadlines(): void {
    this.deadlineTimer = undefined;
    const now = performance.now();
    for (let entry = this.oldestUnanswered(); entry !== undefined && entry.deadline <= now; entry = this.oldestUnanswered()) {
      this.giveUp(entry, this.options.deadlineError());
    }
    const next = this.oldestUnanswered();
    // A timer may fire a fraction of a millisecond early: it is then set again for what is left.
    if (next) this.deadlineTimer = setTimeout(() => this.passDeadlines(), Math.max(1, Math.ceil(next.deadline - now)));
  }

  /** The caller waiting longest, dropping answered ones from the head; undefined when none waits. */
  private oldestUnanswered(): Entry<I, O> | undefined {
    const list = this.unanswered;
    while (this.unansweredHead < list.length && list[this.unansweredHead]!.settled) this.unansweredHead += 1;
    if (this.unansweredHead === list.length) {
      list.length = 0;
      this.unansweredHead = 0;
      return undefined;
    }
    if (this.unansweredHead >= 1024 && this.unansweredHead * 2 >= list.length) {
      this.unanswered = list.slice(this.unansweredHead);
      this.unansweredHead = 0;
    }
    return this.unanswered[this.unansweredHead];
  }

  private watch(signal: AbortSignal): void {
    const watched = this.watched.get(signal);
    if (watched) {
      watched.waiting += 1;
      return;
    }
    const onAbort = () => {
      this.watched.delete(signal);
      for (const entry of this.unanswered.slice(this.unansweredHead)) if (entry.signal === signal) this.giveUp(entry, this.options.abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.watched.set(signal, { waiting: 1, onAbort });
  }

  private unwatch(signal: AbortSignal): void {
    const watched = this.watched.get(signal);
    if (!watched || --watched.waiting > 0) return;
    this.watched.delete(signal);
    signal.removeEventListener('abort', watched.onAbort);
  }

  private settle(entry: Entry<I, O>, outcome: O | Error): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.signal) this.unwatch(entry.signal);
    // Answered callers leave the head of the list as they go; the timer stops with the last.
    if (this.oldestUnanswered() === undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
    const call = entry.call;
    if (call) {
      call.unsettled -= 1;
      // Nobody waits for the call any more: stop it (and the SDK's retries).
      if (call.unsettled === 0 && !call.returned) call.controller.abort();
    }
  }
}
