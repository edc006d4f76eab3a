import type { PublishBatchCommandInput, PublishBatchRequestEntry, SNSClient } from '@aws-sdk/client-sns';

/**
 * SDK middleware on a real SNS client talking to the real emulator: it watches the PublishBatch
 * calls, holds them back (a slow SNS), or alters an entry on its way so that the emulator itself
 * refuses that one entry. No module is mocked; the calls still go through the SDK to fauxqs.
 */

export interface RecordedCall {
  entries: number;
  /** Bytes SNS counts against its 256 KiB: each message and its attributes' names, types and values. */
  bytes: number;
  /** The order ids in the call, in entry order. */
  orderIds: string[];
}

function entryBytes(entry: PublishBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.Message ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

function orderIdOf(entry: PublishBatchRequestEntry): string {
  try {
    return String((JSON.parse(entry.Message ?? '') as { order_id?: unknown }).order_id);
  } catch {
    return '?';
  }
}

function isPublishBatch(input: unknown): input is PublishBatchCommandInput {
  return typeof input === 'object' && input !== null && Array.isArray((input as PublishBatchCommandInput).PublishBatchRequestEntries);
}

/** Every PublishBatch call the client makes from now on, as it was asked (before any rewrite). */
export function recordPublishBatches(sns: SNSClient): RecordedCall[] {
  const calls: RecordedCall[] = [];
  sns.middlewareStack.add(
    (next) => async (args) => {
      if (isPublishBatch(args.input)) {
        const entries = args.input.PublishBatchRequestEntries ?? [];
        calls.push({ entries: entries.length, bytes: entries.reduce((sum, entry) => sum + entryBytes(entry), 0), orderIds: entries.map(orderIdOf) });
      }
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'recordPublishBatches' },
  );
  return calls;
}

/**
 * Rewrites the entries whose order id `matches` before they leave: by default their message
 * becomes longer than SNS takes, so the emulator answers that entry in `Failed`
 * (InvalidParameter) and takes the others of the same call.
 */
export function oversizeEntries(sns: SNSClient, matches: (orderId: string) => boolean, message = 'x'.repeat(300 * 1024)): void {
  sns.middlewareStack.add(
    (next) => async (args) => {
      if (isPublishBatch(args.input)) {
        const input = args.input;
        const entries = (input.PublishBatchRequestEntries ?? []).map((entry) =>
          matches(orderIdOf(entry)) ? { ...entry, Message: message } : entry,
        );
        return next({ ...args, input: { ...input, PublishBatchRequestEntries: entries } });
      }
      return next(args);
    },
    { step: 'initialize', priority: 'low', name: 'oversizeEntries' },
  );
}

export interface Gate {
  /** Calls waiting at the gate now. */
  waiting(): number;
  /** Lets every waiting call and every later one through. */
  open(): void;
}

/** Holds every call of the client before it is sent until open() (SNS being slow to answer). */
export function holdCalls(sns: SNSClient): Gate {
  let opened = false;
  let waiting = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  sns.middlewareStack.add(
    (next) => async (args) => {
      if (!opened) {
        waiting += 1;
        await gate;
        waiting -= 1;
      }
      return next(args);
    },
    { step: 'build', name: 'holdCalls' },
  );
  return {
    waiting: () => waiting,
    open() {
      opened = true;
      release();
    },
  };
}

/**
 * The next `count` attempts reach the emulator, which takes the call, and then lose its answer
 * (the connection reset on the way back): the SDK sees ECONNRESET, a transient error it retries.
 * What a dropped connection does to a Publish that in fact reached the topic.
 */
export function loseAnswers(sns: SNSClient, count: number): { lost(): number } {
  let lost = 0;
  sns.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      if (lost < count) {
        lost += 1;
        throw Object.assign(new Error('read ECONNRESET (the answer was lost after the call reached SNS)'), { code: 'ECONNRESET', $metadata: {} });
      }
      return result;
    },
    { step: 'deserialize', priority: 'high', name: 'loseAnswers' },
  );
  return { lost: () => lost };
}
