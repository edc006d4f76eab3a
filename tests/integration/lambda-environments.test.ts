import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import {
  FunctionEnvironments,
  ThrottledError,
  type FunctionEnvironmentsOptions,
} from '../../local/lambda-runtime/function-environments.ts';
import { parseReportLine } from '../../local/lambda-runtime/platform-lines.ts';

/**
 * The local Lambda's execution environments with small handler modules of known behaviour: cold
 * and warm starts, the concurrency limit and the scaling rate, the timeout, the memory bound, a
 * failing init, and the platform lines each invocation writes.
 */
const HANDLERS: Record<string, string> = {
  // Top-level code runs once per environment; `loads` tells the invocations apart by environment.
  'counter.mjs': `
    const started = Date.now(); while (Date.now() - started < 30) {}
    let invocations = 0;
    const environment = Math.random().toString(36).slice(2);
    console.log('init ' + environment);
    export const handler = async (event) => {
      invocations += 1;
      process.stdout.write(JSON.stringify({ event: 'handled', environment, invocations }) + '\\n');
      if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
      if (event.fail) throw Object.assign(new TypeError('asked to fail'), { code: 'asked' });
      return { environment, invocations, remaining: 0 };
    };`,
  'hog.mjs': `
    const kept = [];
    export const handler = async () => {
      for (;;) kept.push(new Array(100000).fill({ kept: kept.length }));
    };`,
  'broken.mjs': `throw new RangeError('PROCESSING_TIME_MS must be a number');`,
  // Returns, then crashes its environment from a timer: the environment dies while idle.
  'late-crash.mjs': `
    export const handler = async (event) => {
      if (event.crashLater) setTimeout(() => { throw new Error('crashed after returning'); }, 20);
      return 'ok';
    };`,
};

describe('local Lambda: execution environments', function () {
  this.timeout(30_000);
  let dir: string;
  let lines: string[];
  const functions: FunctionEnvironments[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ordersync-environments-'));
    for (const [name, code] of Object.entries(HANDLERS)) await writeFile(join(dir, name), code);
  });
  beforeEach(() => {
    lines = [];
  });
  afterEach(async () => {
    await Promise.all(functions.splice(0).map((fn) => fn.shutdown()));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function environments(module: string, overrides: Partial<FunctionEnvironmentsOptions> = {}): FunctionEnvironments {
    const fn = new FunctionEnvironments({
      functionName: 'ordersync-test-processOrder',
      modulePath: join(dir, module),
      handlerName: 'handler',
      memorySizeMb: 128,
      timeoutMs: 5000,
      environment: {},
      concurrencyLimit: 10,
      write: (line) => lines.push(line),
      ...overrides,
    });
    functions.push(fn);
    return fn;
  }
  const reports = () => lines.map(parseReportLine).filter((report) => report !== undefined);

  it('pays the init once: the first invocation is a cold start with an Init Duration, the next ones reuse the warm environment', async () => {
    const fn = environments('counter.mjs');
    const first = await fn.invoke({}, 'req-1');
    const second = await fn.invoke({}, 'req-2');
    const third = await fn.invoke({}, 'req-3');
    expect([first, second, third].map((outcome) => outcome.ok)).to.deep.equal([true, true, true]);
    const values = [first, second, third].map((outcome) => (outcome.ok ? (outcome.value as { environment: string; invocations: number }) : undefined));
    expect(new Set(values.map((value) => value?.environment)).size, 'one environment').to.equal(1);
    expect(values.map((value) => value?.invocations)).to.deep.equal([1, 2, 3]);

    expect(first.report.initDurationMs, 'the init ran the 30 ms of top-level code').to.be.at.least(25);
    expect(second.report.initDurationMs).to.equal(undefined);
    expect(third.report.initDurationMs).to.equal(undefined);
    // On a cold start the init is billed too (managed runtimes, since August 2025).
    expect(first.report.billedDurationMs).to.equal(Math.ceil(first.report.durationMs + (first.report.initDurationMs ?? 0)));
    expect(second.report.billedDurationMs).to.equal(Math.ceil(second.report.durationMs));
    expect(fn.stats).to.include({ environments: 1, busy: 0, coldStarts: 1, throttles: 0, peakBusy: 1 });
  });

  it('writes the platform lines around each invocation, the init output before the first START, as Lambda does', async () => {
    const fn = environments('counter.mjs', { memorySizeMb: 192 });
    await fn.invoke({}, 'req-a');
    await fn.invoke({}, 'req-b');
    const shape = lines.map((line) => line.replace(/RequestId: \S+/, 'RequestId: ID').replace(/[\d.]+ ms/g, 'N ms').replace(/Used: \d+/, 'Used: N'));
    expect(shape[0]).to.match(/^init \w+$/);
    expect(shape.slice(1)).to.deep.equal([
      'START RequestId: ID Version: $LATEST',
      shape[2],
      'END RequestId: ID',
      'REPORT RequestId: ID\tDuration: N ms\tBilled Duration: N ms\tMemory Size: 192 MB\tMax Memory Used: N MB\tInit Duration: N ms\t',
      'START RequestId: ID Version: $LATEST',
      shape[6],
      'END RequestId: ID',
      'REPORT RequestId: ID\tDuration: N ms\tBilled Duration: N ms\tMemory Size: 192 MB\tMax Memory Used: N MB\t',
    ]);
    expect(JSON.parse(lines[2] ?? '')).to.include({ event: 'handled', invocations: 1 });
    // The same pattern that reads AWS's REPORT lines reads these.
    expect(reports().map((report) => [report.requestId, report.memorySizeMb, report.initDurationMs !== undefined])).to.deep.equal([
      ['req-a', 192, true],
      ['req-b', 192, false],
    ]);
    expect(reports()[0]?.maxMemoryUsedMb).to.be.within(1, 192);
  });

  it('starts N environments for N simultaneous invocations up to the limit, and throttles the rest', async () => {
    const fn = environments('counter.mjs', { concurrencyLimit: 3 });
    const running = [1, 2, 3].map((n) => fn.invoke({ sleepMs: 300 }, `req-${n}`));
    await sleep(20);
    const refused = await fn.invoke({}, 'req-4').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(ThrottledError);
    expect(refused).to.include({ reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', code: 'TooManyRequestsException' });
    const outcomes = await Promise.all(running);
    const used = new Set(outcomes.map((outcome) => (outcome.ok ? (outcome.value as { environment: string }).environment : '')));
    expect(used.size).to.equal(3);
    expect(fn.stats).to.include({ environments: 3, peakEnvironments: 3, peakBusy: 3, coldStarts: 3, throttles: 1 });
    // Once one is free again, the next invocation takes a warm environment: no fourth cold start.
    const after = await fn.invoke({}, 'req-5');
    expect(after.report.initDurationMs).to.equal(undefined);
    expect(fn.stats.coldStarts).to.equal(3);
  });

  it('adds environments no faster than the scaling rate', async () => {
    const fn = environments('counter.mjs', { scalingRate: { environments: 2, perMs: 400 } });
    const first = [1, 2].map((n) => fn.invoke({ sleepMs: 100 }, `req-${n}`));
    const refused = await fn.invoke({}, 'req-3').catch((error: unknown) => error);
    expect(refused).to.include({ reason: 'FunctionScalingRateExceeded' });
    await Promise.all(first);
    await sleep(450);
    const later = await Promise.all([3, 4, 5].map((n) => fn.invoke({ sleepMs: 50 }, `req-${n}`).catch((error: unknown) => error)));
    // Two warm environments and one new one: the new period allows it.
    expect(later.filter((outcome) => outcome instanceof ThrottledError)).to.have.length(0);
    expect(fn.stats).to.include({ coldStarts: 3, throttles: 1 });
  });

  it('shuts down environments idle longer than the idle timeout; the next invocation starts cold', async () => {
    const fn = environments('counter.mjs', { idleTimeoutMs: 200 });
    await fn.invoke({}, 'req-1');
    expect(fn.stats.environments).to.equal(1);
    await sleep(500);
    expect(fn.stats.environments).to.equal(0);
    const next = await fn.invoke({}, 'req-2');
    expect(next.report.initDurationMs).to.be.a('number');
    expect(fn.stats.coldStarts).to.equal(2);
  });

  it("fails an invocation past the function's timeout, ends its environment, and starts the next one cold", async () => {
    const fn = environments('counter.mjs', { timeoutMs: 200 });
    const timedOut = await fn.invoke({ sleepMs: 5000 }, 'req-slow');
    expect(timedOut.ok).to.equal(false);
    expect(!timedOut.ok && timedOut.error).to.include({ errorType: 'Sandbox.Timedout', message: 'Task timed out after 0.20 seconds' });
    expect(timedOut.report).to.include({ status: 'timeout' });
    expect(timedOut.report.durationMs).to.be.within(195, 1000);
    expect(lines.some((line) => /^\S+Z req-slow Task timed out after 0\.20 seconds$/.test(line))).to.equal(true);
    expect(lines.at(-1)).to.match(/\tStatus: timeout\t$/);
    expect(fn.stats.environments).to.equal(0);

    const next = await fn.invoke({}, 'req-next');
    expect(next.ok).to.equal(true);
    expect(next.report.initDurationMs, 'a new environment: a cold start').to.be.a('number');
    expect(fn.stats.coldStarts).to.equal(2);
  });

  it('fails an invocation that runs out of memory as Runtime.OutOfMemory at the memory size, and replaces the environment', async () => {
    const fn = environments('hog.mjs', { memorySizeMb: 32 });
    const outcome = await fn.invoke({}, 'req-hog');
    expect(outcome.ok).to.equal(false);
    expect(!outcome.ok && outcome.error.errorType).to.equal('Runtime.OutOfMemory');
    expect(outcome.report).to.include({ status: 'error', errorType: 'Runtime.OutOfMemory', maxMemoryUsedMb: 32, memorySizeMb: 32 });
    expect(lines).to.include('RequestId: req-hog Error: Runtime exited with error: signal: killed');
    expect(lines.at(-1)).to.match(/Max Memory Used: 32 MB\tInit Duration: [\d.]+ ms\tStatus: error\tError Type: Runtime\.OutOfMemory\t$/);
    expect(fn.stats.environments).to.equal(0);
    const again = await fn.invoke({}, 'req-hog-2');
    expect(again.report.initDurationMs, 'the next invocation has a new environment').to.be.a('number');
    expect(fn.stats.coldStarts).to.equal(2);
  });

  it("keeps a handler's error as Lambda reports it (errorType = the error's name) and the environment warm", async () => {
    const fn = environments('counter.mjs');
    const failed = await fn.invoke({ fail: true }, 'req-fail');
    expect(!failed.ok && failed.error).to.include({ errorType: 'TypeError', code: 'asked', message: 'asked to fail' });
    const invokeError = lines.find((line) => line.includes('\tERROR\tInvoke Error \t'));
    expect(JSON.parse(invokeError?.split('\t').at(-1) ?? '{}')).to.include({ errorType: 'TypeError', errorMessage: 'asked to fail' });
    expect(failed.report.status).to.equal(undefined);
    const next = await fn.invoke({}, 'req-ok');
    expect(next.report.initDurationMs).to.equal(undefined);
  });

  it('never hands an invocation to an environment that died while idle', async () => {
    const fn = environments('late-crash.mjs');
    expect((await fn.invoke({ crashLater: true }, 'req-1')).ok).to.equal(true);
    await sleep(200);
    const next = await fn.invoke({}, 'req-2');
    expect(next.ok).to.equal(true);
    expect(next.report.initDurationMs, 'a new environment').to.be.a('number');
    expect(fn.stats.coldStarts).to.equal(2);
  });

  it('fails every invocation of an environment whose init failed, with the init error, and tries a new environment next time', async () => {
    const fn = environments('broken.mjs');
    const first = await fn.invoke({}, 'req-1');
    expect(!first.ok && first.error).to.include({ errorType: 'RangeError', message: 'PROCESSING_TIME_MS must be a number' });
    expect(first.report.initDurationMs).to.be.a('number');
    const second = await fn.invoke({}, 'req-2');
    expect(second.ok).to.equal(false);
    expect(fn.stats.coldStarts).to.equal(2);
  });
});
