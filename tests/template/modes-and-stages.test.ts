import { expect } from 'chai';
import { packageStack } from '../../scripts/package-stack.ts';
import {
  flatten,
  ofType,
  packaged,
  packagedStage,
  PACKAGE_TIMEOUT_MS,
  props,
  STAGE,
  type CloudFormationTemplate,
  type PackagedStack,
} from './stacks.ts';

const PROCESSOR_RESOURCES = [
  'ProcessorTask',
  'ProcessorService',
  'ProcessorTaskRole',
  'ProcessorExecutionRole',
  'ProcessorSecurityGroup',
  'ProcessorScalableTarget',
  'ProcessorBacklogScalingPolicy',
  'OrdersQueueSubscription',
  'OrdersQueuePolicy',
];

const subscriptionProtocols = (template: CloudFormationTemplate) =>
  ofType(template, 'AWS::SNS::Subscription')
    .map(([, subscription]) => subscription.Protocol as string)
    .sort();

const hasLambdaTrigger = (template: CloudFormationTemplate) =>
  ofType(template, 'AWS::Lambda::Permission').some(([, permission]) => permission.Principal === 'sns.amazonaws.com');

/** Properties that carry a physical name, unique per account and region (or per stage's cluster). */
const NAME_PROPERTIES = ['TopicName', 'QueueName', 'FunctionName', 'ClusterName', 'RepositoryName', 'LogGroupName', 'Family', 'AlarmName', 'RoleName'];

function physicalNames(template: CloudFormationTemplate): string[] {
  const names: string[] = [];
  for (const [, resource] of Object.entries(template.Resources)) {
    for (const property of NAME_PROPERTIES) {
      // A reference (FunctionName: {Ref: ...} of a version or permission) names nothing new.
      const value = flatten(resource.Properties?.[property]);
      if (typeof value === 'string') names.push(value);
    }
    // Scaling policy names are unique per scalable target; named per stage anyway.
    if (resource.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy') names.push(String(resource.Properties?.PolicyName));
  }
  return names;
}

describe('template: processorMode', function () {
  let ecs: PackagedStack;
  let lambda: PackagedStack;
  let both: PackagedStack;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    [ecs, lambda, both] = [await packaged('ecs'), await packaged('lambda'), await packaged('both')];
  });

  it('ecs (the default): processor service and SQS subscription, no Lambda subscription', () => {
    expect(ecs.template.Resources).to.include.all.keys(PROCESSOR_RESOURCES);
    expect(subscriptionProtocols(ecs.template)).to.deep.equal(['sqs']);
    expect(hasLambdaTrigger(ecs.template)).to.equal(false);
  });

  it('lambda: Lambda subscription, no SQS subscription and no processor service', () => {
    for (const id of PROCESSOR_RESOURCES) expect(lambda.template.Resources, id).not.to.have.property(id);
    expect(ofType(lambda.template, 'AWS::ECS::Service').map(([id]) => id)).to.deep.equal(['ReceiverService']);
    expect(subscriptionProtocols(lambda.template)).to.deep.equal(['lambda']);
    expect(hasLambdaTrigger(lambda.template)).to.equal(true);
  });

  it('both: every order goes down both paths', () => {
    expect(both.template.Resources).to.include.all.keys(PROCESSOR_RESOURCES);
    expect(subscriptionProtocols(both.template)).to.deep.equal(['lambda', 'sqs']);
    expect(hasLambdaTrigger(both.template)).to.equal(true);
  });

  it('keeps the receiver, queues, repositories and the Lambda in every mode', () => {
    const common = ['ReceiverService', 'HttpListener', 'OrdersTopic', 'OrdersQueue', 'OrdersDeadLetterQueue', 'LambdaFailureQueue', 'ReceiverRepository', 'ProcessorRepository', 'ProcessOrderLambdaFunction'];
    for (const stack of [ecs, lambda, both]) expect(stack.template.Resources, stack.mode).to.include.all.keys(common);
  });

  it('was packaged offline (in a network namespace without network where this machine allows it)', () => {
    for (const stack of [ecs, lambda, both]) expect(stack.isolated).to.be.a('boolean');
    if (!ecs.isolated) console.warn('      (unshare -n is not available here: packaged with placeholder credentials only)');
  });

  it('refuses an unknown processorMode', async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    const error = await packageStack({ stage: STAGE, mode: 'lambdas' as never }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).to.match(/custom\.mode.*Value not found at "file" source/s);
  });
});

describe('template: stages', function () {
  let dev: PackagedStack;
  let prod: PackagedStack;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    dev = await packaged('ecs');
    prod = await packagedStage('prod');
  });

  it('puts the stage in every physical name, so a stage a user names collides with no other', () => {
    const devNames = physicalNames(dev.template);
    const prodNames = physicalNames(prod.template);
    expect(devNames.length).to.be.greaterThan(15);
    for (const name of devNames) expect(name).to.include(`ordersync-${STAGE}`);
    for (const name of prodNames) expect(name).to.include('ordersync-prod');
    expect(devNames.filter((name) => prodNames.includes(name))).to.deep.equal([]);
    expect(prodNames).to.have.length(devNames.length);
  });

  it('leaves load balancer, target group and security group names to CloudFormation', () => {
    for (const [id, found] of [
      ...ofType(prod.template, 'AWS::ElasticLoadBalancingV2::LoadBalancer'),
      ...ofType(prod.template, 'AWS::ElasticLoadBalancingV2::TargetGroup'),
      ...ofType(prod.template, 'AWS::EC2::SecurityGroup'),
    ]) {
      expect(found, id).not.to.have.any.keys('Name', 'GroupName');
    }
  });

  it('applies the prod stage parameters', () => {
    expect(props(prod.template, 'ReceiverService').DesiredCount).to.equal(2);
    expect(props(prod.template, 'FargateTasksLogGroup').RetentionInDays).to.equal(90);
    expect(props(dev.template, 'ReceiverService').DesiredCount).to.equal(1);
  });
});
