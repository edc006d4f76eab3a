import { expect } from 'chai';
import { InvalidOrderError } from '../../lib/errors.ts';
import { orderBodySha256 } from '../../lib/order-records.ts';
import { ORDER_LIMITS, parseOrder } from '../../lib/order-schema.ts';
import { SEED_ORDER } from '../support/orders.ts';

function issuesOf(payload: unknown) {
  try {
    parseOrder(payload);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOrderError);
    return (error as InvalidOrderError).issues;
  }
  throw new Error('expected the order to be rejected');
}

describe('order schema', () => {
  it('accepts the seed payload unchanged', () => {
    expect(parseOrder(structuredClone(SEED_ORDER))).to.deep.equal(SEED_ORDER);
  });

  it('names every missing field', () => {
    expect(issuesOf({})).to.deep.equal([
      { field: 'order_id', message: 'is required' },
      { field: 'customer_id', message: 'is required' },
      { field: 'items', message: 'is required' },
    ]);
  });

  it('rejects a body that is not an object', () => {
    for (const payload of [null, [], 'order', 42]) {
      expect(issuesOf(payload)).to.deep.equal([{ field: '(root)', message: 'must be a JSON object' }]);
    }
  });

  it('names nested fields by their path', () => {
    const issues = issuesOf({ ...SEED_ORDER, items: [{ product_id: 'SKU-1', quantity: 0, price: -1 }] });
    expect(issues).to.deep.equal([
      { field: 'items.0.quantity', message: 'must be at least 1' },
      { field: 'items.0.price', message: 'must not be negative' },
    ]);
  });

  it('says what type a field must be', () => {
    const issues = issuesOf({ order_id: 1, customer_id: '123', items: {} });
    expect(issues.map((issue) => issue.field)).to.deep.equal(['order_id', 'customer_id', 'items']);
    expect(issues[0]?.message).to.equal('must be a string');
    expect(issues[1]?.message).to.equal('must be an integer');
  });

  it('rejects unknown fields rather than dropping them', () => {
    const issues = issuesOf({ ...SEED_ORDER, coupon: 'X', items: [{ ...SEED_ORDER.items[0], quantiy: 2 }] });
    expect(issues).to.deep.include({ field: 'coupon', message: 'is not a known field' });
    expect(issues).to.deep.include({ field: 'items.0.quantiy', message: 'is not a known field' });
  });

  it('enforces the documented limits', () => {
    const tooMany = Array.from({ length: ORDER_LIMITS.maxItems + 1 }, () => SEED_ORDER.items[0]);
    expect(issuesOf({ ...SEED_ORDER, items: tooMany })[0]?.field).to.equal('items');
    expect(issuesOf({ ...SEED_ORDER, items: [] })[0]?.message).to.equal('must hold at least one item');
    expect(issuesOf({ ...SEED_ORDER, order_id: 'x'.repeat(ORDER_LIMITS.idMaxLength + 1) })[0]?.field).to.equal('order_id');
    expect(issuesOf({ ...SEED_ORDER, order_id: 'has space' })[0]?.field).to.equal('order_id');
    const item = { product_id: 'SKU-1', quantity: ORDER_LIMITS.maxQuantity + 1, price: 1.001 };
    expect(issuesOf({ ...SEED_ORDER, items: [item] }).map((issue) => issue.field)).to.deep.equal(['items.0.quantity', 'items.0.price']);
    expect(issuesOf({ ...SEED_ORDER, customer_id: 0 })[0]?.message).to.equal('must be a positive integer');
  });

  it('accepts the limits themselves', () => {
    const item = { product_id: 'P'.repeat(ORDER_LIMITS.idMaxLength), quantity: ORDER_LIMITS.maxQuantity, price: ORDER_LIMITS.maxPrice };
    const order = { order_id: 'A-1.b_2:c', customer_id: 1, items: Array.from({ length: ORDER_LIMITS.maxItems }, () => item) };
    expect(parseOrder(order).items).to.have.length(ORDER_LIMITS.maxItems);
  });

  it('puts every issue in the error message', () => {
    expect(() => parseOrder({ ...SEED_ORDER, customer_id: -5 })).to.throw(InvalidOrderError, 'customer_id: must be a positive integer');
  });
});

describe('orderBodySha256 (the idempotency check of a repeated order_id)', () => {
  const sha = (body: string) => orderBodySha256(parseOrder(JSON.parse(body)));
  const seed = '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}';

  it('is the same for the same order with its fields in another order, other whitespace or 19.990 for 19.99', () => {
    const reordered = '{ "items": [ { "price": 19.990, "quantity": 1, "product_id": "SKU-001" } ],\n "customer_id": 123, "order_id": "001" }';
    expect(sha(reordered)).to.equal(sha(seed)).and.to.match(/^[0-9a-f]{64}$/);
  });

  it('differs for any other difference: a field, an item, the items’ order', () => {
    const others = [
      '{"order_id":"001","customer_id":124,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99}]}',
      '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":2,"price":19.99}]}',
      '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.98}]}',
      '{"order_id":"001","customer_id":123,"items":[{"product_id":"SKU-001","quantity":1,"price":19.99},{"product_id":"SKU-002","quantity":1,"price":1}]}',
    ];
    const swapped = [
      '{"order_id":"001","customer_id":123,"items":[{"product_id":"A","quantity":1,"price":1},{"product_id":"B","quantity":1,"price":1}]}',
      '{"order_id":"001","customer_id":123,"items":[{"product_id":"B","quantity":1,"price":1},{"product_id":"A","quantity":1,"price":1}]}',
    ];
    for (const other of others) expect(sha(other), other).to.not.equal(sha(seed));
    expect(sha(swapped[0]!)).to.not.equal(sha(swapped[1]!));
  });
});
