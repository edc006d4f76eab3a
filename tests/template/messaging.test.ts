import { expect } from 'chai';
import { messagingSettings, resourceNames } from '../../lib/messaging-settings.ts';
import {
  allModes,
  environment,
  getAtt,
  ofType,
  packaged,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  STAGE,
  type CloudFormationTemplate,
  type PackagedStack,
} from './stacks.ts';

const QUEUES = ['OrdersQueue', 'OrdersDeadLetterQueue', 'LambdaFailureQueue', 'LambdaSubscriptionDeadLetterQueue'];

describe('template: messaging', function () {
  let stacks: PackagedStack[];
  let ecs: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
    ecs = (await packaged('ecs')).template;
  });

  it('names the topic and queues as the local stack does (resources/messaging.json)', () => {
    const names = resourceNames(STAGE);
    expect(props(ecs, 'OrdersTopic').TopicName).to.equal(names.topic);
    expect(props(ecs, 'OrdersQueue').QueueName).to.equal(names.ordersQueue);
    expect(props(ecs, 'OrdersDeadLetterQueue').QueueName).to.equal(names.ordersDeadLetterQueue);
    expect(props(ecs, 'LambdaFailureQueue').QueueName).to.equal(names.lambdaFailureQueue);
    expect(props(ecs, 'LambdaSubscriptionDeadLetterQueue').QueueName).to.equal(
      `ordersync-${STAGE}-${messagingSettings.lambdaSubscriptionDeadLetterQueue.name}`,
    );
  });

  it('encrypts the topic and every queue at rest', () => {
    for (const { template } of stacks) {
      expect(props(template, 'OrdersTopic').KmsMasterKeyId).to.equal('alias/aws/sns');
      for (const [id, queue] of ofType(template, 'AWS::SQS::Queue')) {
        expect(queue.SqsManagedSseEnabled === true || typeof queue.KmsMasterKeyId === 'string', id).to.equal(true);
      }
      expect(ofType(template, 'AWS::SQS::Queue').map(([id]) => id)).to.have.members(QUEUES);
    }
  });

  it('redrives the orders queue to its DLQ after at least 5 receives', () => {
    const redrive = props(ecs, 'OrdersQueue').RedrivePolicy;
    expect(redrive.deadLetterTargetArn).to.deep.equal(getAtt('OrdersDeadLetterQueue', 'Arn'));
    expect(redrive.maxReceiveCount).to.equal(messagingSettings.ordersDeadLetterQueue.maxReceiveCount).and.to.be.at.least(5);
  });

  it('keeps dead letters longer than orders', () => {
    expect(props(ecs, 'OrdersDeadLetterQueue').MessageRetentionPeriod).to.be.greaterThan(props(ecs, 'OrdersQueue').MessageRetentionPeriod);
  });

  it('has a visibility timeout that fits the processing time and the long poll', () => {
    for (const { template, mode } of stacks.filter((stack) => stack.mode !== 'lambda')) {
      const queue = props(template, 'OrdersQueue');
      const env = environment(template, 'ProcessorTask');
      // The processor extends the visibility of orders it still works on; one stretch must
      // cover at least two processing times.
      expect(queue.VisibilityTimeout * 1000, mode).to.be.at.least(2 * Number(env.PROCESSING_TIME_MS));
      expect(queue.ReceiveMessageWaitTimeSeconds).to.equal(Number(env.PROCESSOR_WAIT_TIME_SECONDS));
    }
  });

  it('subscribes the orders queue to the topic with raw delivery (ecs, both)', () => {
    for (const { template, mode } of stacks.filter((stack) => stack.mode !== 'lambda')) {
      const subscriptions = ofType(template, 'AWS::SNS::Subscription').filter(([, found]) => found.Protocol === 'sqs');
      expect(subscriptions.map(([, found]) => found), mode).to.deep.equal([
        { TopicArn: ref('OrdersTopic'), Protocol: 'sqs', Endpoint: getAtt('OrdersQueue', 'Arn'), RawMessageDelivery: true },
      ]);
    }
  });

  it('lets only the orders topic send to the orders queue', () => {
    for (const { template, mode } of stacks.filter((stack) => stack.mode !== 'lambda')) {
      const policies = ofType(template, 'AWS::SQS::QueuePolicy').filter(([, policy]) =>
        JSON.stringify(policy.Queues).includes('"OrdersQueue"'),
      );
      expect(policies, mode).to.have.length(1);
      const [, policy] = policies[0]!;
      expect(policy.Queues).to.deep.equal([ref('OrdersQueue')]);
      expect(policy.PolicyDocument.Statement).to.deep.equal([
        {
          Sid: 'OnlyTheOrdersTopicSends',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: getAtt('OrdersQueue', 'Arn'),
          Condition: { ArnEquals: { 'aws:SourceArn': ref('OrdersTopic') } },
        },
      ]);
    }
  });

  it('keeps what SNS cannot deliver to the Lambda in a DLQ only the topic can send to (lambda, both)', () => {
    for (const { template, mode } of stacks.filter((stack) => stack.mode !== 'ecs')) {
      const [[, subscription]] = ofType(template, 'AWS::SNS::Subscription').filter(([, found]) => found.Protocol === 'lambda') as [
        [string, Record<string, unknown>],
      ];
      expect(subscription.RedrivePolicy, mode).to.deep.equal({ deadLetterTargetArn: getAtt('LambdaSubscriptionDeadLetterQueue', 'Arn') });
      const policies = ofType(template, 'AWS::SQS::QueuePolicy').filter(([, policy]) =>
        JSON.stringify(policy.Queues).includes('LambdaSubscriptionDeadLetterQueue'),
      );
      expect(policies).to.have.length(1);
      const [statement] = policies[0]![1].PolicyDocument.Statement;
      expect(statement).to.deep.include({ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage' });
      expect(statement.Condition).to.deep.equal({ ArnEquals: { 'aws:SourceArn': ref('OrdersTopic') } });
    }
  });

  it('outputs the topic ARN and every queue URL', () => {
    for (const { template } of stacks) {
      expect(template.Outputs.OrdersTopicArn?.Value).to.deep.equal(ref('OrdersTopic'));
      expect(template.Outputs.OrdersQueueUrl?.Value).to.deep.equal(ref('OrdersQueue'));
      expect(template.Outputs.OrdersDeadLetterQueueUrl?.Value).to.deep.equal(ref('OrdersDeadLetterQueue'));
      expect(template.Outputs.LambdaFailureQueueUrl?.Value).to.deep.equal(ref('LambdaFailureQueue'));
      expect(template.Outputs.LambdaSubscriptionDeadLetterQueueUrl?.Value).to.deep.equal(ref('LambdaSubscriptionDeadLetterQueue'));
    }
  });
});
