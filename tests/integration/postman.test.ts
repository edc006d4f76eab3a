import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import newman, { type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import { processedCounts } from '../../local/log-collector.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const COLLECTION = 'postman/ordersync.postman_collection.json';
const LOCAL_ENVIRONMENT = 'postman/local.postman_environment.json';

interface CollectionItem {
  name: string;
  event?: { listen: string; script: { exec: string[] } }[];
  item?: CollectionItem[];
}

interface RequestItem extends CollectionItem {
  request: { method: string; url: { raw: string }; body?: { raw?: string } };
}

function requestsOf(items: CollectionItem[]): CollectionItem[] {
  return items.flatMap((item) => (item.item ? requestsOf(item.item) : [item]));
}

/** How many `pm.test(...)` the collection's test scripts hold: the assertions a full run must execute. */
function declaredAssertions(items: CollectionItem[]): number {
  const scripts = items.flatMap((item) => item.event ?? []).filter((event) => event.listen === 'test');
  return scripts.reduce((sum, event) => sum + (event.script.exec.join('\n').match(/\bpm\.test\(/g) ?? []).length, 0);
}

function runNewman(options: NewmanRunOptions): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => {
    newman.run(options, (error, summary) => (error ? reject(error) : resolve(summary)));
  });
}

describe('Postman collection, run by newman against the local stack', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ processingTimeMs: 100 });
  });
  after(() => stack?.stop());

  it('every request answers and every assertion passes', async () => {
    const collection = JSON.parse(await readFile(COLLECTION, 'utf8')) as { item: CollectionItem[] };
    const requests = requestsOf(collection.item);

    const summary = await runNewman({
      collection,
      environment: LOCAL_ENVIRONMENT,
      envVar: [{ key: 'baseUrl', value: stack.receiverUrl }],
      reporters: [],
      timeout: 45_000,
      timeoutRequest: 10_000,
    });

    const failures = summary.run.failures.map((failure) => `${failure.source?.name ?? '?'}: ${failure.error.test ?? failure.error.name}: ${failure.error.message}`);
    expect(failures).to.deep.equal([]);
    expect(summary.run.error ?? undefined).to.equal(undefined);
    const { stats, executions } = summary.run;
    // Every request of the collection ran, in order, and was answered. The status poll's own requests
    // (pm.sendRequest) are executions of the request whose script sent them, and count as requests.
    const ran = executions.map((execution) => execution.item.name).filter((name, index, names) => name !== names[index - 1]);
    expect(ran).to.deep.equal(requests.map((request) => request.name));
    expect(executions.filter((execution) => execution.response === undefined).map((execution) => execution.item.name)).to.deep.equal([]);
    expect(stats.requests.failed).to.equal(0);
    expect(stats.requests.total).to.be.at.least(requests.length);
    expect(stats.assertions.failed).to.equal(0);
    expect(stats.assertions.total, 'assertions executed').to.be.at.least(declaredAssertions(requests));
    expect(stats.testScripts).to.include({ total: requests.length, failed: 0 });
    expect(stats.prerequestScripts.failed).to.equal(0);

    // The two async orders the collection sends reach the processor; the rejected ones never do.
    const accepted = stack.logs.events('order.accepted', (line) => line.path === 'async').map((line) => line.order_id);
    expect(accepted).to.have.length(2);
    await stack.logs.waitFor('the async orders to be processed', () => stack.logs.events('order.processed', (line) => line.path === 'ecs').length >= 2);
    await stack.logs.waitFor('the processor to go idle', () => stack.processor?.stats.inFlight === 0);
    const processed = processedCounts(stack.logs, 'ecs');
    expect([...processed.keys()]).to.have.members(accepted);
    expect([...processed.values()], 'each processed once').to.deep.equal([1, 1]);

    // The repeat was answered from the first acceptance and the conflict refused: one line each,
    // for the Async order, and nothing published for either.
    const asyncOrderId = accepted[0]; // the Async order runs before "Request id is echoed"
    expect(stack.logs.events('order.repeated').map((line) => line.order_id)).to.deep.equal([asyncOrderId]);
    expect(stack.logs.events('order.conflict').map((line) => line.order_id)).to.deep.equal([asyncOrderId]);
  });

  it('has the status, repeat and conflict requests, on the order the Async order posted', async () => {
    const collection = JSON.parse(await readFile(COLLECTION, 'utf8')) as { item: RequestItem[] };
    const byName = new Map(requestsOf(collection.item).map((item) => [item.name, item as RequestItem]));
    const line = (name: string) => {
      const item = byName.get(name);
      return item ? `${item.request.method} ${item.request.url.raw}` : `no request "${name}"`;
    };
    const names = [...byName.keys()];
    expect(names.indexOf('Order status')).to.equal(names.indexOf('Async order') + 1);
    expect(line('Order status')).to.equal('GET {{baseUrl}}/orders/{{orderId}}');
    expect(line('Order status, processed')).to.equal('GET {{baseUrl}}/orders/{{orderId}}');
    expect(line('Repeated order')).to.equal('POST {{baseUrl}}/orders/async');
    expect(line('409 conflicting order')).to.equal('POST {{baseUrl}}/orders/async');
    expect(line('404 unknown order')).to.equal('GET {{baseUrl}}/orders/{{unknownOrderId}}');
    // The repeat is the same order (its fields in another order); the conflict is another one under the same id.
    const body = (name: string) => JSON.parse(byName.get(name)?.request.body?.raw ?? 'null') as unknown;
    expect(body('Repeated order')).to.deep.equal(body('Async order'));
    expect(body('409 conflicting order')).to.have.property('order_id', '{{orderId}}');
    expect(body('409 conflicting order')).not.to.deep.equal(body('Async order'));
  });

  it('with the stage environment not filled in, stops at once with its message and sends nothing', async () => {
    const summary = await runNewman({
      collection: JSON.parse(await readFile(COLLECTION, 'utf8')) as object,
      environment: 'postman/stage.postman_environment.json',
      reporters: [],
      timeout: 20_000,
    });
    const messages = summary.run.failures.map((failure) => failure.error.message);
    expect(messages, JSON.stringify(summary.run.stats)).to.have.length(1);
    expect(messages[0]).to.contain('baseUrl is empty');
    expect(summary.run.stats.requests.total, 'requests sent').to.equal(0);
  });

  it('both environments set baseUrl: local to npm start, stage left to fill in', async () => {
    const read = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as { values: { key: string; value: string }[] };
    const baseUrl = async (file: string) => (await read(file)).values.find((value) => value.key === 'baseUrl')?.value;
    expect(await baseUrl(LOCAL_ENVIRONMENT)).to.equal('http://localhost:8080');
    expect(await baseUrl('postman/stage.postman_environment.json')).to.equal('');
  });
});
