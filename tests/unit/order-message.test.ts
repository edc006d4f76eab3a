import { expect } from 'chai';
import { MalformedMessageError } from '../../lib/errors.ts';
import { decodeSnsRecord, decodeSqsMessage, orderMessageAttributes } from '../../lib/order-message.ts';
import { snsEventFor } from '../../local/sns-event.ts';
import { SEED_ORDER } from '../support/orders.ts';

describe('order messages', () => {
  const attributes = orderMessageAttributes('req-9', 1_700_000_000_000);

  it('decodes a raw SQS message and its attributes', () => {
    const decoded = decodeSqsMessage({
      MessageId: 'm-1',
      Body: JSON.stringify(SEED_ORDER),
      MessageAttributes: {
        request_id: { DataType: 'String', StringValue: attributes.request_id?.StringValue },
        accepted_at: { DataType: 'Number', StringValue: attributes.accepted_at?.StringValue },
      },
    });
    expect(decoded).to.deep.equal({ payload: SEED_ORDER, requestId: 'req-9', acceptedAt: 1_700_000_000_000 });
  });

  it('decodes an SQS message holding an SNS envelope', () => {
    const envelope = {
      Type: 'Notification',
      MessageId: 'sns-1',
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:t',
      Message: JSON.stringify(SEED_ORDER),
      MessageAttributes: { request_id: { Type: 'String', Value: 'req-env' } },
    };
    const decoded = decodeSqsMessage({ MessageId: 'm-2', Body: JSON.stringify(envelope) });
    expect(decoded).to.deep.equal({ payload: SEED_ORDER, requestId: 'req-env', acceptedAt: undefined });
  });

  it('falls back to the message id when no request id travelled', () => {
    expect(decodeSqsMessage({ MessageId: 'm-3', Body: '{}' }).requestId).to.equal('m-3');
  });

  it('rejects a body that is not JSON, naming the message', () => {
    expect(() => decodeSqsMessage({ MessageId: 'm-4', Body: 'not json' }))
      .to.throw(MalformedMessageError, 'SQS message body is not JSON')
      .with.property('messageId', 'm-4');
  });

  it('decodes an SNS event record as Lambda receives it', () => {
    const event = snsEventFor(JSON.stringify(SEED_ORDER), { attributes: { request_id: 'req-l', accepted_at: '5' } });
    const record = event.Records[0];
    if (!record) throw new Error('no record');
    expect(decodeSnsRecord(record)).to.deep.equal({ payload: SEED_ORDER, requestId: 'req-l', acceptedAt: 5 });
  });
});
