import { expect } from 'chai';
import { loadProcessorConfig, loadReceiverConfig, type Env } from '../../lib/config.ts';
import {
  allModes,
  asArray,
  container,
  environment,
  getAtt,
  ofType,
  OVERRIDDEN,
  packaged,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  resource,
  STAGE,
  type CloudFormationTemplate,
  type PackagedStack,
  type Props,
} from './stacks.ts';

/** What the tasks would see on AWS, with the template's references filled in. */
const DEPLOYED: Record<string, string> = {
  '{"Ref":"OrdersTopic"}': 'arn:aws:sns:us-east-1:123456789012:ordersync-dev-orders',
  '{"Ref":"OrdersQueue"}': 'https://sqs.us-east-1.amazonaws.com/123456789012/ordersync-dev-orders',
  '{"Ref":"AWS::Region"}': 'us-east-1',
  '{"Ref":"OrdersTable"}': 'ordersync-dev-orders',
};

function deployedEnv(template: CloudFormationTemplate, task: string): Env {
  return Object.fromEntries(
    Object.entries(environment(template, task)).map(([name, value]) => [
      name,
      typeof value === 'object' ? DEPLOYED[JSON.stringify(value)] : String(value),
    ]),
  );
}

const imageOf = (repository: string) => ({
  'Fn::Join': ['', [getAtt(repository, 'RepositoryUri'), ':', 'packaged']],
});

describe('template: ECS services', function () {
  let stacks: PackagedStack[];
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
    template = (await packaged('ecs')).template;
  });

  it('has one cluster for the stage, with Container Insights', () => {
    const clusters = ofType(template, 'AWS::ECS::Cluster');
    expect(clusters).to.have.length(1);
    expect(clusters[0]![1].ClusterName).to.equal(`ordersync-${STAGE}`);
    expect(clusters[0]![1].ClusterSettings).to.deep.equal([{ Name: 'containerInsights', Value: 'enabled' }]);
  });

  it('runs each image from its ECR repository at imageTag, never the packaging placeholder', () => {
    expect(container(template, 'ReceiverTask').Image).to.deep.equal(imageOf('ReceiverRepository'));
    expect(container(template, 'ProcessorTask').Image).to.deep.equal(imageOf('ProcessorRepository'));
    for (const { template: modeTemplate } of stacks) {
      expect(JSON.stringify(modeTemplate)).not.to.include('placeholder.invalid');
    }
  });

  it('runs Fargate tasks in per-stage families', () => {
    for (const [component, task] of [['receiver', 'ReceiverTask'], ['processor', 'ProcessorTask']] as const) {
      const definition = props(template, task);
      expect(definition).to.deep.include({ Family: `ordersync-${STAGE}-${component}`, NetworkMode: 'awsvpc', RequiresCompatibilities: ['FARGATE'] });
    }
  });

  it('gives the receiver exactly the configuration it reads, and it is valid', () => {
    const env = deployedEnv(template, 'ReceiverTask');
    expect(Object.keys(env).sort()).to.deep.equal(
      ['AWS_REGION', 'LOG_LEVEL', 'ORDERS_TABLE_NAME', 'ORDERS_TOPIC_ARN', 'PORT', 'PROCESSING_TIME_MS', 'SHUTDOWN_TIMEOUT_MS'].sort(),
    );
    expect(environment(template, 'ReceiverTask').ORDERS_TOPIC_ARN).to.deep.equal(ref('OrdersTopic'));
    expect(environment(template, 'ReceiverTask').ORDERS_TABLE_NAME).to.deep.equal(ref('OrdersTable'));
    const config = loadReceiverConfig(env);
    expect(config).to.deep.include({ port: 8080, processingTimeMs: 3000, logLevel: 'info', ordersTableName: 'ordersync-dev-orders' });
  });

  it('gives the processor exactly the configuration it reads, and it is valid', () => {
    const env = deployedEnv(template, 'ProcessorTask');
    expect(Object.keys(env).sort()).to.deep.equal(
      [
        'AWS_REGION',
        'LOG_LEVEL',
        'ORDERS_QUEUE_URL',
        'ORDERS_TABLE_NAME',
        'PROCESSING_TIME_MS',
        'PROCESSOR_CONCURRENCY',
        'PROCESSOR_RETRY_DELAY_SECONDS',
        'PROCESSOR_WAIT_TIME_SECONDS',
        'SHUTDOWN_TIMEOUT_MS',
      ].sort(),
    );
    expect(environment(template, 'ProcessorTask').ORDERS_QUEUE_URL).to.deep.equal(ref('OrdersQueue'));
    expect(environment(template, 'ProcessorTask').ORDERS_TABLE_NAME).to.deep.equal(ref('OrdersTable'));
    const config = loadProcessorConfig(env);
    expect(config).to.deep.include({
      concurrency: 100,
      processingTimeMs: 3000,
      waitTimeSeconds: 20,
      shutdownTimeoutMs: 25_000,
      ordersTableName: 'ordersync-dev-orders',
    });
  });

  it('gives every task the orders table as ORDERS_TABLE_NAME in every mode', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      const tasks = mode === 'lambda' ? ['ReceiverTask'] : ['ReceiverTask', 'ProcessorTask'];
      for (const task of tasks) expect(environment(modeTemplate, task).ORDERS_TABLE_NAME, `${mode} ${task}`).to.deep.equal(ref('OrdersTable'));
    }
  });

  it('takes PROCESSOR_CONCURRENCY and PROCESSING_TIME_MS from stage parameters', async () => {
    const both = (await packaged('both')).template;
    const processor = loadProcessorConfig(deployedEnv(both, 'ProcessorTask'));
    expect(processor.concurrency).to.equal(Number(OVERRIDDEN.processorConcurrency));
    expect(processor.processingTimeMs).to.equal(Number(OVERRIDDEN.processingTimeMs));
    expect(loadReceiverConfig(deployedEnv(both, 'ReceiverTask')).processingTimeMs).to.equal(Number(OVERRIDDEN.processingTimeMs));
    expect(props(both, 'ProcessOrderLambdaFunction').Environment.Variables.PROCESSING_TIME_MS).to.equal(OVERRIDDEN.processingTimeMs);
  });

  it('gives the processor a stop timeout longer than its graceful drain', () => {
    const drainMs = Number(environment(template, 'ProcessorTask').SHUTDOWN_TIMEOUT_MS);
    const stopTimeoutMs = container(template, 'ProcessorTask').StopTimeout * 1000;
    expect(stopTimeoutMs).to.be.at.least(drainMs + 10_000).and.at.most(120_000);
    const receiverDrainMs = Number(environment(template, 'ReceiverTask').SHUTDOWN_TIMEOUT_MS);
    expect(container(template, 'ReceiverTask').StopTimeout * 1000).to.be.greaterThan(receiverDrainMs);
  });

  it('health-checks both containers with the check their images carry', () => {
    for (const task of ['ReceiverTask', 'ProcessorTask']) {
      const check = container(template, task).HealthCheck;
      expect(check.Command, task).to.deep.equal(['CMD', 'node', '/app/healthcheck.mjs']);
      expect(check.Interval * 1000).to.be.greaterThan(check.Timeout * 1000);
    }
  });

  it('rolls back a deployment whose tasks do not get healthy', () => {
    for (const { template: modeTemplate } of stacks) {
      for (const [id, service] of ofType(modeTemplate, 'AWS::ECS::Service')) {
        expect(service.DeploymentConfiguration.DeploymentCircuitBreaker, id).to.deep.equal({ Enable: true, Rollback: true });
        expect(service.DeploymentConfiguration.MinimumHealthyPercent, id).to.equal(100);
      }
    }
  });

  it('waits for the whole way out before starting tasks, so the first image pull can succeed', () => {
    for (const service of ['ReceiverService', 'ProcessorService']) {
      expect(asArray(resource(template, service).DependsOn), service).to.include.members([
        'PrivateDefaultRoute',
        'PrivateSubnet1RouteTableAssociation',
        'PrivateSubnet2RouteTableAssociation',
        'PublicDefaultRoute',
        'PublicSubnet1RouteTableAssociation',
        'PublicSubnet2RouteTableAssociation',
      ]);
    }
  });

  it("leaves the entry point and command to the image (no value, not an empty list)", () => {
    for (const task of ['ReceiverTask', 'ProcessorTask']) {
      expect(container(template, task).EntryPoint, task).to.deep.equal({ Ref: 'AWS::NoValue' });
      expect(container(template, task).Command, task).to.deep.equal({ Ref: 'AWS::NoValue' });
    }
  });

  it('writes container logs per component to a log group with retention', () => {
    for (const [task, prefix] of [['ReceiverTask', 'receiver'], ['ProcessorTask', 'processor']] as const) {
      expect(container(template, task).LogConfiguration).to.deep.equal({
        LogDriver: 'awslogs',
        Options: { 'awslogs-group': ref('FargateTasksLogGroup'), 'awslogs-region': ref('AWS::Region'), 'awslogs-stream-prefix': prefix },
      });
    }
    for (const { template: modeTemplate } of stacks) {
      for (const [id, group] of ofType(modeTemplate, 'AWS::Logs::LogGroup')) {
        expect(group.RetentionInDays, id).to.be.a('number').within(1, 3653);
      }
    }
    expect(props(template, 'FargateTasksLogGroup').LogGroupName).to.equal(`/ecs/ordersync-${STAGE}`);
  });
});

describe('template: ECR repositories', function () {
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    template = (await packaged('lambda')).template;
  });

  it('has a repository per image, scanned on push, keeping recent images', () => {
    for (const [repository, component] of [['ReceiverRepository', 'receiver'], ['ProcessorRepository', 'processor']] as const) {
      const found = props(template, repository);
      expect(found.RepositoryName).to.equal(`ordersync-${STAGE}/${component}`);
      expect(found.ImageScanningConfiguration).to.deep.equal({ ScanOnPush: true });
      expect(found.ImageTagMutability).to.equal('IMMUTABLE');
      const policy = JSON.parse(found.LifecyclePolicy.LifecyclePolicyText as string) as { rules: Props[] };
      expect(policy.rules).to.have.length(1);
      expect(policy.rules[0]).to.deep.include({ action: { type: 'expire' } });
      expect(policy.rules[0]?.selection).to.deep.include({ countType: 'imageCountMoreThan', countNumber: 20 });
    }
  });

  it('outputs the repository URIs', () => {
    expect(template.Outputs.ReceiverRepositoryUri?.Value).to.deep.equal(getAtt('ReceiverRepository', 'RepositoryUri'));
    expect(template.Outputs.ProcessorRepositoryUri?.Value).to.deep.equal(getAtt('ProcessorRepository', 'RepositoryUri'));
  });
});

describe('template: autoscaling and alarms', function () {
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    template = (await packaged('ecs')).template;
  });

  const scalableTargetOf = (service: string) =>
    ofType(template, 'AWS::ApplicationAutoScaling::ScalableTarget').find(([, target]) =>
      JSON.stringify(target.ResourceId).includes(`"${service}","Name"`),
    );

  it('scales the receiver on CPU with target tracking', () => {
    const [targetId, target] = scalableTargetOf('ReceiverService')!;
    expect(target).to.deep.include({ ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 1 });
    expect(target.MaxCapacity).to.be.greaterThan(target.MinCapacity);
    const [[, policy]] = ofType(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').filter(
      ([, found]) => JSON.stringify(found.ScalingTargetId) === JSON.stringify(ref(targetId)),
    ) as [[string, Props]];
    expect(policy.PolicyType).to.equal('TargetTrackingScaling');
    expect(policy.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification).to.deep.equal({
      PredefinedMetricType: 'ECSServiceAverageCPUUtilization',
    });
  });

  it('scales the processor on the queue backlog per running task', () => {
    const [targetId, target] = scalableTargetOf('ProcessorService')!;
    expect(target.ResourceId).to.deep.equal({ 'Fn::Join': ['/', ['service', ref('FargateTasksCluster'), getAtt('ProcessorService', 'Name')]] });
    const [[, policy]] = ofType(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').filter(
      ([, found]) => JSON.stringify(found.ScalingTargetId) === JSON.stringify(ref(targetId)),
    ) as [[string, Props]];
    const config = policy.TargetTrackingScalingPolicyConfiguration;
    expect(config.TargetValue).to.be.greaterThan(0);
    const metrics = config.CustomizedMetricSpecification.Metrics as Props[];
    const byId = Object.fromEntries(metrics.map((metric) => [metric.Id, metric]));
    expect(byId.visible.MetricStat.Metric).to.deep.equal({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt('OrdersQueue', 'QueueName') }],
    });
    expect(byId.tasks.MetricStat.Metric).to.deep.include({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' });
    expect(byId.tasks.MetricStat.Metric.Dimensions).to.deep.include({ Name: 'ServiceName', Value: getAtt('ProcessorService', 'Name') });
    expect(byId.backlogPerTask).to.deep.include({ Expression: 'visible / tasks', ReturnData: true });
    expect(metrics.filter((metric) => metric.ReturnData)).to.have.length(1);
  });

  it('alarms on every dead-letter queue holding anything', () => {
    const depthAlarms = ofType(template, 'AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm)
      .filter((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible');
    const queues = depthAlarms.map((alarm) => alarm.Dimensions[0].Value);
    expect(queues).to.have.deep.members([
      getAtt('OrdersDeadLetterQueue', 'QueueName'),
      getAtt('LambdaFailureQueue', 'QueueName'),
      getAtt('LambdaSubscriptionDeadLetterQueue', 'QueueName'),
    ]);
    for (const alarm of depthAlarms) expect(alarm).to.include({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, Namespace: 'AWS/SQS' });
  });

  it('alarms on the age of the oldest waiting order', () => {
    const ageAlarms = ofType(template, 'AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm)
      .filter((alarm) => alarm.MetricName === 'ApproximateAgeOfOldestMessage');
    const orders = ageAlarms.find((alarm) => JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: getAtt('OrdersQueue', 'QueueName') }]));
    expect(orders).to.include({ Statistic: 'Maximum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 300 });
  });
});
