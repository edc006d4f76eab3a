import { expect } from 'chai';
import { loadLambdaConfig, loadProcessorConfig, loadReceiverConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { resourceNames } from '../../lib/messaging-settings.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/ordersync-dev-orders';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ordersync-dev-orders';
const TABLE = 'ordersync-dev-orders';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const receiver = loadReceiverConfig({ ORDERS_TOPIC_ARN: TOPIC_ARN, ORDERS_TABLE_NAME: TABLE });
    expect(receiver).to.include({ port: 8080, processingTimeMs: 3000, logLevel: 'info', ordersTableName: TABLE });
    expect(receiver.aws).to.deep.equal({ region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: undefined });
    expect(loadProcessorConfig({ ORDERS_QUEUE_URL: QUEUE_URL, ORDERS_TABLE_NAME: TABLE })).to.include({ concurrency: 100, waitTimeSeconds: 20 });
    expect(loadLambdaConfig({ ORDERS_TABLE_NAME: TABLE })).to.deep.equal({
      logLevel: 'info',
      processingTimeMs: 3000,
      ordersTableName: TABLE,
      aws: { region: 'us-east-1', endpoint: undefined, dynamodbEndpoint: undefined },
    });
  });

  it('reads every variable it documents', () => {
    const config = loadProcessorConfig({
      ORDERS_QUEUE_URL: QUEUE_URL,
      ORDERS_TABLE_NAME: TABLE,
      PROCESSOR_CONCURRENCY: '20',
      PROCESSING_TIME_MS: '150',
      LOG_LEVEL: 'DEBUG',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
    });
    expect(config).to.include({ concurrency: 20, processingTimeMs: 150, logLevel: 'debug' });
    expect(config.aws).to.deep.equal({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566', dynamodbEndpoint: 'http://127.0.0.1:4566' });
    expect(config.ordersTableName).to.equal(TABLE);
  });

  it('takes DynamoDB\'s own endpoint when it has one (AWS_ENDPOINT_URL_DYNAMODB), as the SDK does', () => {
    const aws = loadLambdaConfig({ ORDERS_TABLE_NAME: TABLE, AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' }).aws;
    expect(aws).to.deep.equal({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4566', dynamodbEndpoint: 'http://127.0.0.1:8000' });
  });

  it('requires the orders table by a name DynamoDB accepts', () => {
    expect(() => loadReceiverConfig({ ORDERS_TOPIC_ARN: TOPIC_ARN })).to.throw(ConfigError, 'ORDERS_TABLE_NAME is required');
    expect(() => loadProcessorConfig({ ORDERS_QUEUE_URL: QUEUE_URL, ORDERS_TABLE_NAME: 'no spaces' })).to.throw(ConfigError, 'ORDERS_TABLE_NAME must be a DynamoDB table name');
    expect(() => loadLambdaConfig({})).to.throw(ConfigError, 'ORDERS_TABLE_NAME is required');
  });

  it('reports every problem at once, in plain words', () => {
    let error: unknown;
    try {
      loadProcessorConfig({ PROCESSOR_CONCURRENCY: 'abc', PROCESSING_TIME_MS: '-1', LOG_LEVEL: 'loud', AWS_ENDPOINT_URL: 'nope' });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).to.contain('PROCESSOR_CONCURRENCY must be an integer from 1 to 1000 (got "abc")');
    expect(message).to.contain('PROCESSING_TIME_MS must be an integer from 0 to 600000 (got "-1")');
    expect(message).to.contain('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")');
    expect(message).to.contain('AWS_ENDPOINT_URL must be an http(s) URL (got "nope")');
    expect(message).to.contain('ORDERS_QUEUE_URL is required');
  });

  it('rejects a topic ARN that is not one', () => {
    expect(() => loadReceiverConfig({ ORDERS_TOPIC_ARN: 'orders', ORDERS_TABLE_NAME: TABLE })).to.throw(ConfigError, 'ORDERS_TOPIC_ARN must be an SNS topic ARN');
  });

  it('gives each stage its own resource names', () => {
    const dev = resourceNames('dev');
    const prod = resourceNames('prod');
    expect(dev.topic).to.equal('ordersync-dev-orders');
    expect(Object.values(prod)).to.not.include.members(Object.values(dev));
    expect(() => resourceNames('no spaces')).to.throw('stage must be');
  });
});
