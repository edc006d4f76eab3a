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

  it('answers each caller at its own deadline, in turn, whether it is queued or in a call, and never after its answer', async () => {
    const { made, calls } = batcher({ timeoutMs: 300, lingerMs: 60_000, maxCallsInFlight: 1 });
    const started = performance.now();
    const settledAt = (answer: Promise<number>): Promise<{ value?: number; error?: string; ms: number }> =>
      answer.then(
        (value) => ({ value, ms: performance.now() - started }),
        (error: Error) => ({ error: error.message, ms: performance.now() - started }),
      );
    const first = settledAt(made.submit(1)); // sent at once; its call is not answered in time
    await sleep(200);
    const second = settledAt(made.submit(2)); // queued behind the cap, deadline at 500 ms
    const third = settledAt(made.submit(3));
    await sleep(150);
    expect((await first).error, 'the first caller is answered at its deadline, its call still out').to.equal('deadline');
    expect((await first).ms).to.be.within(290, 350);
    expect(calls.map((call) => call.items)).to.deep.equal([[1]]);
    calls[0]!.answer(); // too late for 1; its return lets 2 and 3 go
    await sleep(1);
    expect(calls.map((call) => call.items)).to.deep.equal([[1], [2, 3]]);
    calls[1]!.answer();
    expect((await second).value).to.equal(20);
    expect((await third).value).to.equal(30);
    // A later caller's deadline still fires after everyone before it was answered.
    const late = settledAt(made.submit(4));
    expect((await late).error).to.equal('deadline');
  });

  it('keeps one abort listener per signal however many callers wait on it, and answers each of them when it fires', async () => {
    const { made } = batcher({ lingerMs: 60_000, maxCallsInFlight: 1 });
    const drain = new AbortController();
    let listeners = 0;
    const add = drain.signal.addEventListener.bind(drain.signal);
    drain.signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      listeners += 1;
      add(...args);
    };
    const answers = [1, 2, 3, 4].map((item) => made.submit(item, { signal: drain.signal }).catch((error: Error) => error.message));
    expect(listeners).to.equal(1);
    drain.abort();
    expect(await Promise.all(answers)).to.deep.equal(['aborted', 'aborted', 'aborted', 'aborted']);
    expect(made.pending.queued).to.equal(0);
  });
});

