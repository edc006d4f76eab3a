import { expect } from 'chai';
import { attachOrder, nextOrderId, randomOrder, startClock, withinRun } from '../../artillery/processor.mts';
import { parseOrder } from '../../lib/order-schema.ts';

describe('artillery processor', () => {
  it('makes valid, varied orders: 1–5 items, quantities 1–1000, prices in cents', () => {
    const orders = Array.from({ length: 2000 }, () => randomOrder(nextOrderId()));
    for (const order of orders) expect(parseOrder(order)).to.deep.equal(order);
    const itemCounts = new Set(orders.map((order) => order.items.length));
    expect([...itemCounts].sort()).to.deep.equal([1, 2, 3, 4, 5]);
    const quantities = orders.flatMap((order) => order.items.map((item) => item.quantity));
    expect(Math.max(...quantities)).to.be.above(10); // now and then a bulk order
    expect(new Set(orders.map((order) => order.order_id)).size).to.equal(orders.length);
  });

  it('attaches an order as the JSON body with a request id naming it', () => {
    const params: { json?: unknown; headers?: Record<string, string> } = { headers: { accept: 'application/json' } };
    let called = false;
    attachOrder(params, { vars: {} }, undefined, () => (called = true));
    const order = parseOrder(params.json);
    expect(order.order_id).to.match(/^load-[0-9a-f]{8}-\d+$/);
    expect(params.headers).to.deep.equal({ accept: 'application/json', 'x-request-id': `req-${order.order_id}` });
    expect(called).to.equal(true);
  });

  it('keeps users looping until runSeconds after the first one started', () => {
    const context = { vars: { runSeconds: 0.2 } as Record<string, unknown> };
    let error: Error | undefined;
    startClock(context, undefined, (err) => (error = err));
    expect(error).to.equal(undefined);
    let carryOn: boolean | undefined;
    withinRun(context, (value) => (carryOn = value));
    expect(carryOn).to.equal(true);
    withinRun({ vars: { runSeconds: 0 } }, (value) => (carryOn = value));
    expect(carryOn).to.equal(false);
  });

  it('fails the user with a plain message when runSeconds is missing', () => {
    let error: Error | undefined;
    startClock({ vars: {} }, undefined, (err) => (error = err));
    expect(error?.message).to.equal('config.variables.runSeconds must be a positive number of seconds (got undefined)');
  });
});
