import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { CallBatcher, type CallBatcherOptions } from '../../lib/call-batcher.ts';

/**
 * The batcher's scheduling, its calls answered by the test: which items go together and when.
 * (The SNS publisher's tests run the same batcher against the emulator through the SDK.)
 */
function batcher(options: Partial<CallBatcherOptions<number, number>> = {}) {
  const calls: { items: number[]; answer: () => void }[] = [];
  const made = new CallBatcher<number, number>({
    maxEntries: 5,
    lingerMs: 40,
    maxCallsInFlight: 10,
    timeoutMs: 5000,
    deadlineError: () => new Error('deadline'),
    abortError: () => new Error('aborted'),
    send: (items) =>
      new Promise((resolve) => {
        calls.push({ items, answer: () => resolve(items.map((item) => item * 10)) });
      }),
    ...options,
  });
  return { made, calls };
}

describe('CallBatcher', () => {
  it('sends a lone item at once, and each caller gets its own answer', async () => {
    const { made, calls } = batcher();
    const answer = made.submit(1);
    expect(calls.map((call) => call.items)).to.deep.equal([[1]]);
    calls[0]?.answer();
    expect(await answer).to.equal(10);
  });

  it('by default sends what gathered during a call as soon as it returns', async () => {
    const { made, calls } = batcher();
    const answers = [made.submit(1), made.submit(2), made.submit(3)];
    expect(calls.map((call) => call.items)).to.deep.equal([[1]]);
    calls[0]?.answer();
    await sleep(0);
    expect(calls.map((call) => call.items)).to.deep.equal([[1], [2, 3]]);
    calls[1]?.answer();
    expect(await Promise.all(answers)).to.deep.equal([10, 20, 30]);
  });

  it('preferFull: after a call returns, a partial batch waits for the linger or a full batch', async () => {
    const { made, calls } = batcher({ preferFull: true });
    const answers = [made.submit(1), made.submit(2), made.submit(3)];
    calls[0]?.answer();
    await sleep(5);
    expect(calls.map((call) => call.items), 'not sent on the return').to.deep.equal([[1]]);
    answers.push(made.submit(4), made.submit(5), made.submit(6));
    expect(calls.map((call) => call.items), 'a full batch goes at once').to.deep.equal([[1], [2, 3, 4, 5, 6]]);
    answers.push(made.submit(7));
    await sleep(60);
    expect(calls.map((call) => call.items), 'the rest after the linger').to.deep.equal([[1], [2, 3, 4, 5, 6], [7]]);
    for (const call of calls.slice(1)) call.answer();
    expect(await Promise.all(answers)).to.deep.equal([10, 20, 30, 40, 50, 60, 70]);
    // Idle again: a lone item still goes at once.
    const lone = made.submit(8);
    expect(calls.at(-1)?.items).to.deep.equal([8]);
    calls.at(-1)?.answer();
    expect(await lone).to.equal(80);
  });

  it('flush() sends what is queued at once', async () => {
    const { made, calls } = batcher({ preferFull: true });
    made.submit(1).catch(() => undefined);
    made.submit(2).catch(() => undefined);
    expect(calls).to.have.length(1);
    made.flush();
    expect(calls.map((call) => call.items)).to.deep.equal([[1], [2]]);
  });
});
