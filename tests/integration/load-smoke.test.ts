import { expect } from 'chai';
import { runArtillery, runLoadAsync, type ArtilleryRun } from '../support/artillery.ts';
import { processedCounts, type LogLine } from '../../local/log-collector.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The Artillery scenarios themselves (artillery/sync.yml, artillery/async.yml), in their `smoke`
 * environment (3 s, a few users), against the real local stack: what `npm run load:sync` and
 * `npm run load:async` do, short. load:async runs through scripts/load-async.ts, which checks the
 * accepted orders through the status resource after the load.
 */
describe('artillery load scenarios, smoke runs against the local stack', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let sync: ArtilleryRun;
  let async: ArtilleryRun;

  before(async () => {
    stack = await startTestStack({ processingTimeMs: 100 });
    // Both at once, as two users would; the logs tell them apart by path, the reports by run.
    [sync, async] = await Promise.all([
      runArtillery('sync.yml', { target: stack.receiverUrl, environment: 'smoke', timeoutMs: 20_000 }),
      runLoadAsync({ target: stack.receiverUrl, environment: 'smoke', timeoutMs: 30_000, checkArgs: ['--processor', 'ecs', '--wait-seconds', '15'] }),
    ]);
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

  it('async: npm run load:async found every accepted order processed through the status resource, and exited 0', () => {
    const requests = async.report.aggregate.counters['http.requests'] ?? 0;
    expect(async.output).to.contain(`Checking ${requests} accepted orders through the status resource`);
    expect(async.output).to.match(new RegExp(`: ${requests} of ${requests} accepted orders processed on ecs, after [\\d.]+ s \\(waiting at most 15.0 s\\)`));
    expect(async.output).not.to.contain('NOT processed');
    expect(async.code).to.equal(0);
  });

  it('generates ids that do not collide across runs (a random prefix per worker)', () => {
    const syncIds = ids(stack.logs.events('order.accepted', (line) => line.path === 'sync'));
    const asyncIds = ids(stack.logs.events('order.accepted', (line) => line.path === 'async'));
    expect(syncIds.concat(asyncIds).every((id) => /^load-[0-9a-f]{8}-\d+$/.test(id))).to.equal(true);
    expect(new Set(syncIds.concat(asyncIds)).size).to.equal(syncIds.length + asyncIds.length);
  });
});

describe('npm run load:async against a stack that processes nothing', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let run: ArtilleryRun;

  before(async () => {
    // The ECS mode without its processor: every order is accepted (202) and none is ever processed.
    stack = await startTestStack({ processingTimeMs: 100, skipProcessor: true });
    run = await runLoadAsync({ target: stack.receiverUrl, environment: 'smoke', timeoutMs: 30_000, checkArgs: ['--wait-seconds', '1'] });
  });
  after(() => stack?.stop());

  it('fails (exit 1) after its bounded wait, naming every order its status shows unprocessed, though the load itself passed', () => {
    const requests = run.report.aggregate.counters['http.requests'] ?? 0;
    expect(requests, 'requests sent').to.be.at.least(10);
    expect(run.report.aggregate.counters['http.codes.202']).to.equal(requests);
    expect(run.code, run.output).to.equal(1);
    expect(run.output).to.match(new RegExp(`: 0 of ${requests} accepted orders processed \\(no order showed a path\\), after [\\d.]+ s \\(waiting at most 1.0 s\\)`));
    expect(run.output).to.contain(`NOT processed: ${requests}`);
    const accepted = stack.logs.events('order.accepted', (line) => line.path === 'async').map((line) => String(line.order_id));
    expect(accepted).to.have.length(requests);
    // Listed with the state their status showed (the first 20, the rest counted).
    const listed = [...run.output.matchAll(/^ {2}(\S+) {2}accepted$/gm)].map((match) => match[1]);
    expect(listed).to.have.length(Math.min(20, requests));
    expect(accepted).to.include.members(listed);
    if (requests > 20) expect(run.output).to.contain(`... and ${requests - 20} more`);
  });
});
