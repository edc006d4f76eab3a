import { expect } from 'chai';
import { runArtillery, type ArtilleryRun } from '../support/artillery.ts';
import { processedCounts, type LogLine } from '../../local/log-collector.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The Artillery scenarios themselves (artillery/sync.yml, artillery/async.yml), in their `smoke`
 * environment (3 s, a few users), against the real local stack: what `npm run load:sync` and
 * `npm run load:async` do, short.
 */
describe('artillery load scenarios, smoke runs against the local stack', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let sync: ArtilleryRun;
  let async: ArtilleryRun;

  before(async () => {
    stack = await startTestStack({ processingTimeMs: 100 });
    // Both at once, as two users would; the logs tell them apart by path, the reports by run.
    [sync, async] = await Promise.all(
      ['sync.yml', 'async.yml'].map((script) => runArtillery(script, { target: stack.receiverUrl, environment: 'smoke', timeoutMs: 20_000 })),
    ) as [ArtilleryRun, ArtilleryRun];
  });
  after(() => stack?.stop());

  function expectCleanRun(run: ArtilleryRun, status: number): number {
    const { counters } = run.report.aggregate;
    const requests = counters['http.requests'] ?? 0;
    expect(run.code, run.output).to.equal(0); // the ensure checks passed
    expect(requests, 'requests sent').to.be.at.least(10);
    expect(counters[`http.codes.${status}`], `answers ${status}`).to.equal(requests);
    expect(counters['vusers.failed']).to.equal(0);
    expect(Object.keys(counters).filter((name) => name.startsWith('errors.'))).to.be.empty;
    expect(Object.keys(counters).filter((name) => /^http\.codes\./.test(name))).to.deep.equal([`http.codes.${status}`]);
    return requests;
  }

  const ids = (lines: LogLine[]) => lines.map((line) => String(line.order_id));

  it('sync.yml: every request answered 200, each order processed inline once', () => {
    const requests = expectCleanRun(sync, 200);
    expect(sync.report.aggregate.counters['plugins.metrics-by-endpoint./orders/sync.codes.200']).to.equal(requests);
    const processed = ids(stack.logs.events('order.processed', (line) => line.path === 'sync'));
    expect(processed).to.have.length(requests);
    expect(new Set(processed).size, 'distinct order ids').to.equal(requests);
  });

  it('async.yml: every request answered 202, and every accepted order processed exactly once', async () => {
    const requests = expectCleanRun(async, 202);
    expect(async.report.aggregate.counters['plugins.metrics-by-endpoint./orders/async.codes.202']).to.equal(requests);

    const accepted = stack.logs.events('order.accepted', (line) => line.path === 'async');
    expect(accepted).to.have.length(requests);
    const sent = new Set(ids(accepted));
    expect(sent.size, 'distinct order ids').to.equal(requests);
    // The processor attaches the x-request-id naming the order; it travels with it.
    for (const line of accepted) expect(line.request_id).to.equal(`req-${String(line.order_id)}`);

    const processed = () => stack.logs.events('order.processed', (line) => line.path === 'ecs');
    await stack.logs.waitFor(`${requests} async orders to be processed`, () => processed().length >= requests, 15_000);
    await stack.logs.waitFor('the processor to go idle', () => stack.processor?.stats.inFlight === 0);
    const counts = processedCounts(stack.logs, 'ecs');
    expect([...counts.keys()].sort()).to.deep.equal([...sent].sort());
    expect([...counts.values()].every((count) => count === 1), 'each processed once').to.equal(true);
  });

  it('generates ids that do not collide across runs (a random prefix per worker)', () => {
    const syncIds = ids(stack.logs.events('order.accepted', (line) => line.path === 'sync'));
    const asyncIds = ids(stack.logs.events('order.accepted', (line) => line.path === 'async'));
    expect(syncIds.concat(asyncIds).every((id) => /^load-[0-9a-f]{8}-\d+$/.test(id))).to.equal(true);
    expect(new Set(syncIds.concat(asyncIds)).size).to.equal(syncIds.length + asyncIds.length);
  });
});
