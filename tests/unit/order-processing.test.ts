import { expect } from 'chai';
import { InvalidOrderError, MalformedMessageError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { handleOrderMessage, orderTotal, processOrder } from '../../lib/order-processing.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { makeOrder, SEED_ORDER } from '../support/orders.ts';

describe('order core', () => {
  let logs: LogCollector;
  const logger = () => createLogger({ component: 'test', destination: logs });

  beforeEach(() => {
    logs = new LogCollector();
  });

  it('computes totals in cents', () => {
    expect(orderTotal({ ...SEED_ORDER, items: [{ product_id: 'a', quantity: 3, price: 0.1 }, { product_id: 'b', quantity: 1, price: 0.2 }] })).to.equal(0.5);
    expect(orderTotal(makeOrder('x', 3))).to.equal(59.94); // 9.99 × (1 + 2 + 3)
  });

  it('takes the processing time and yields the result every path logs', async () => {
    const started = performance.now();
    const result = await processOrder(SEED_ORDER, {
      path: 'sync',
      requestId: 'req-1',
      logger: logger(),
      processingTimeMs: 60,
      acceptedAt: Date.now() - 5,
    });
    expect(performance.now() - started).to.be.at.least(59);
    expect(result).to.include({ order_id: '001', customer_id: 123, item_count: 1, unit_count: 1, total: 19.99, path: 'sync', request_id: 'req-1' });
    expect(result.processing_ms).to.be.at.least(59);
    expect(result.end_to_end_ms).to.be.at.least(result.processing_ms);
    const [line] = logs.events('order.processed');
    expect(line).to.include({ order_id: '001', path: 'sync', request_id: 'req-1', processing_ms: result.processing_ms });
  });

  it('logs order.failed with the request id and rethrows an invalid order', async () => {
    const decode = () => ({ payload: { order_id: 'bad-1' }, requestId: 'req-2', acceptedAt: undefined });
    let thrown: unknown;
    await handleOrderMessage(decode, { path: 'ecs', messageId: 'm-1', logger: logger(), processingTimeMs: 0, attempt: 2 }).catch(
      (error: unknown) => (thrown = error),
    );
    expect(thrown).to.be.instanceOf(InvalidOrderError);
    const [line] = logs.events('order.failed');
    expect(line).to.include({ order_id: 'bad-1', path: 'ecs', request_id: 'req-2', message_id: 'm-1', attempt: 2 });
    expect(logs.events('order.processed')).to.be.empty;
  });

  it('logs order.failed with the message id when the message cannot be decoded', async () => {
    const decode = () => {
      throw new MalformedMessageError('SQS message body is not JSON', 'm-2');
    };
    await handleOrderMessage(decode, { path: 'lambda', messageId: 'm-2', logger: logger(), processingTimeMs: 0 }).catch(() => undefined);
    const [line] = logs.events('order.failed');
    expect(line).to.include({ path: 'lambda', request_id: 'm-2' });
    expect(line?.error).to.deep.equal({ code: 'malformed_message', message: 'SQS message body is not JSON' });
  });

  it('stops work handed back at shutdown without logging it as failed or processed', async () => {
    const controller = new AbortController();
    const decode = () => ({ payload: SEED_ORDER, requestId: 'req-3', acceptedAt: undefined });
    const running = handleOrderMessage(decode, {
      path: 'ecs',
      messageId: 'm-3',
      logger: logger(),
      processingTimeMs: 10_000,
      signal: controller.signal,
    });
    controller.abort();
    let thrown: unknown;
    await running.catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(Error);
    expect(logs.events('order.released')).to.have.length(1);
    expect(logs.events('order.failed')).to.be.empty;
    expect(logs.events('order.processed')).to.be.empty;
  });
});
