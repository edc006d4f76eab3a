import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeleteMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteBatcher } from '../../lib/delete-batcher.ts';
import { createLogger } from '../../lib/logger.ts';
import { LogCollector } from '../../local/log-collector.ts';

type Answer = (command: DeleteMessageBatchCommand, signal: AbortSignal | undefined) => Promise<unknown>;

/** An SQS client that answers DeleteMessageBatch as `answer` says, counting calls and calls under way. */
function fakeSqs(answer: Answer) {
  const seen = { calls: 0, underWay: 0, peakUnderWay: 0, entries: [] as string[] };
  const sqs = {
    async send(command: DeleteMessageBatchCommand, options?: { abortSignal?: AbortSignal }) {
      seen.calls += 1;
      seen.underWay += 1;
      seen.peakUnderWay = Math.max(seen.peakUnderWay, seen.underWay);
      try {
        return await answer(command, options?.abortSignal);
      } finally {
        seen.underWay -= 1;
      }
    },
  } as unknown as SQSClient;
  return { sqs, seen };
}

const networkError = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const policy = { attempts: 5, initialMs: 10, maxMs: 20, attemptTimeoutMs: 200 };

describe('DeleteBatcher', () => {
  let logs: LogCollector;
  const logger = () => createLogger({ component: 'test', destination: logs });
  beforeEach(() => (logs = new LogCollector()));

  it('keeps at most maxBatchesInFlight batches under way; the rest wait their turn and all go', async () => {
    const { sqs, seen } = fakeSqs(async (command) => {
      await sleep(30);
      seen.entries.push(...(command.input.Entries ?? []).map((entry) => entry.ReceiptHandle ?? ''));
      return { Successful: [], Failed: [] };
    });
    const batcher = new DeleteBatcher({ sqs, queueUrl: 'q', logger: logger(), maxBatchesInFlight: 3, retry: policy });
    for (let index = 0; index < 200; index += 1) batcher.add(`m${index}`, `h${index}`);
    expect(batcher.batchesInFlight).to.equal(3);
    await batcher.flush();
    expect(seen.peakUnderWay).to.equal(3);
    expect(seen.entries).to.have.length(200);
    expect(new Set(seen.entries).size).to.equal(200);
  });

  it('retries a batch that got no answer until it goes through', async () => {
    let failuresLeft = 3;
    const { sqs, seen } = fakeSqs(async () => {
      if (failuresLeft-- > 0) throw networkError();
      return { Successful: [{ Id: 'm0' }], Failed: [] };
    });
    const batcher = new DeleteBatcher({ sqs, queueUrl: 'q', logger: logger(), retry: policy });
    batcher.add('m', 'h', Date.now() + 5000);
    await batcher.flush();
    expect(seen.calls).to.equal(4);
    expect(logs.events('queue.delete_failed')).to.be.empty;
  });

  it('retries only the entries that failed on the server side, never those SQS refused', async () => {
    const sent: string[][] = [];
    const { sqs } = fakeSqs(async (command) => {
      const handles = (command.input.Entries ?? []).map((entry) => entry.ReceiptHandle ?? '');
      sent.push(handles);
      if (sent.length > 1) return { Successful: handles.map((_, index) => ({ Id: `m${index}` })), Failed: [] };
      return {
        Successful: [{ Id: 'm0' }],
        Failed: [
          { Id: 'm1', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'expired' },
          { Id: 'm2', SenderFault: false, Code: 'InternalError', Message: 'try again' },
        ],
      };
    });
    const batcher = new DeleteBatcher({ sqs, queueUrl: 'q', logger: logger(), retry: policy });
    for (const id of ['a', 'b', 'c']) batcher.add(id, `h-${id}`);
    await batcher.flush();
    expect(sent).to.deep.equal([['h-a', 'h-b', 'h-c'], ['h-c']]);
    expect(logs.events('queue.delete_failed').map((line) => line.message_id)).to.deep.equal(['b']);
  });

  it('stops retrying when the receipt handle expires, and logs the messages as not deleted', async () => {
    const { sqs, seen } = fakeSqs(async () => {
      throw networkError();
    });
    const batcher = new DeleteBatcher({ sqs, queueUrl: 'q', logger: logger(), retry: { ...policy, attempts: 100 } });
    const started = Date.now();
    batcher.add('m', 'h', started + 150);
    await batcher.flush();
    expect(Date.now() - started).to.be.below(400);
    expect(seen.calls).to.be.within(2, 15);
    expect(logs.events('queue.delete_failed')[0]).to.deep.include({ message_ids: ['m'] });
  });

  it('flush(deadline) aborts a call that hangs at the deadline', async () => {
    const { sqs } = fakeSqs(
      (_command, signal) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))),
    );
    const batcher = new DeleteBatcher({ sqs, queueUrl: 'q', logger: logger(), retry: { ...policy, attemptTimeoutMs: 60_000 } });
    batcher.add('m', 'h');
    const started = Date.now();
    await batcher.flush(started + 200);
    expect(Date.now() - started).to.be.within(150, 400);
    expect(logs.events('queue.delete_failed')).to.have.length(1);
  });
});
