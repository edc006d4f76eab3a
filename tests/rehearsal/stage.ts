import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import tableSettings from '../../resources/orders-table.json' with { type: 'json' };
import { ROOT } from '../../scripts/package-stack.ts';
import { killProcessGroup } from '../support/child-process.ts';
import { ACCOUNT, baseEnv, REGION, type Emulator } from './emulator.ts';
import { taskEnv } from './tasks.ts';

/**
 * Runs `npm run deploy` / `npm run remove` as a user would, against the emulator, with the docker
 * stand-in (bin/docker) first on PATH, and reads back what they did from the emulator itself.
 */
export const IMAGE_TAG = 'rehearsal0001';
export const BIN = fileURLToPath(new URL('bin', import.meta.url));
export const COMPONENTS = ['receiver', 'processor'] as const;
export type Mode = 'ecs' | 'lambda' | 'both';

/** Outputs docs/deploy.md promises (the template's Outputs section has these and a few more). */
export const DOCUMENTED_OUTPUTS = [
  'LoadBalancerUrl',
  'OrdersTopicArn',
  'OrdersQueueUrl',
  'OrdersDeadLetterQueueUrl',
  'ReceiverRepositoryUri',
  'ProcessorRepositoryUri',
  'ClusterName',
  'EcsLogGroupName',
  'OrdersTableName',
];

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Stack {
  StackName: string;
  StackStatus: string;
  LastUpdatedTime?: string;
  Outputs?: { OutputKey: string; OutputValue: string }[];
}

export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  Outputs?: Record<string, unknown>;
}

export class Rehearsal {
  readonly running = new Set<ChildProcess>();
  readonly emulator: Emulator;
  readonly callsFile: string;

  constructor(emulator: Emulator, callsFile: string) {
    this.emulator = emulator;
    this.callsFile = callsFile;
  }

  /** The environment of a script run: the emulator's, the stand-in first on PATH. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...baseEnv(),
      ...this.emulator.awsEnv,
      PATH: `${BIN}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      IMAGE_TAG,
      REHEARSAL_DOCKER_CALLS: this.callsFile,
      ...extra,
    };
  }

  /** npm run <script> -- --stage <stage> ARGS, as a user runs it; the process group is killed after timeoutMs. */
  npm(script: 'deploy' | 'remove', stage: string, args: string[] = [], extraEnv: Record<string, string> = {}, timeoutMs = 150_000): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn('npm', ['run', script, '--', '--stage', stage, ...args], {
        cwd: ROOT,
        env: this.env(extraEnv),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      this.running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => killProcessGroup(child), timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        this.running.delete(child);
        reject(error);
      });
      child.on('close', (status) => {
        clearTimeout(timer);
        this.running.delete(child);
        resolve({ status, stdout, stderr, ms: Date.now() - started });
      });
    });
  }

  deploy(stage: string, mode: Mode, extraEnv: Record<string, string> = {}): Promise<RunResult> {
    return this.npm('deploy', stage, ['--param', `processorMode=${mode}`], extraEnv);
  }

  remove(stage: string, extraEnv: Record<string, string> = {}): Promise<RunResult> {
    return this.npm('remove', stage, [], extraEnv);
  }

  async dockerCalls(): Promise<string[]> {
    return (await readFile(this.callsFile, 'utf8')).split('\n').filter(Boolean);
  }

  async clearDockerCalls(): Promise<void> {
    await writeFile(this.callsFile, '');
  }

  killAll(): void {
    for (const child of this.running) killProcessGroup(child);
  }

  // ---- reading the emulator ------------------------------------------------------------------

  /** The stack, or undefined when CloudFormation says it does not exist. */
  async stack(stage: string): Promise<Stack | undefined> {
    const result = await this.emulator.awsResult('cloudformation', 'describe-stacks', '--stack-name', stackName(stage));
    if (result.status === 0) return (JSON.parse(result.stdout) as { Stacks: Stack[] }).Stacks[0];
    if (result.stderr.includes(`Stack with id ${stackName(stage)} does not exist`)) return undefined;
    throw new Error(`describe-stacks ${stackName(stage)} failed: ${result.stderr}`);
  }

  async outputs(stage: string): Promise<Record<string, string>> {
    const stack = await this.stack(stage);
    return Object.fromEntries((stack?.Outputs ?? []).map(({ OutputKey, OutputValue }) => [OutputKey, OutputValue]));
  }

  async events(stage: string): Promise<{ ResourceStatus: string; Timestamp: string; LogicalResourceId: string }[]> {
    return (await this.emulator.aws('cloudformation', 'describe-stack-events', '--stack-name', stackName(stage))).StackEvents;
  }

  async template(stage: string): Promise<Template> {
    const { TemplateBody } = await this.emulator.aws('cloudformation', 'get-template', '--stack-name', stackName(stage));
    return typeof TemplateBody === 'string' ? (JSON.parse(TemplateBody) as Template) : (TemplateBody as Template);
  }

  /** Logical id → physical id of what the emulator actually created. */
  async resources(stage: string): Promise<Map<string, { type: string; physicalId: string }>> {
    const { StackResourceSummaries } = await this.emulator.aws('cloudformation', 'list-stack-resources', '--stack-name', stackName(stage));
    return new Map(
      (StackResourceSummaries as { LogicalResourceId: string; ResourceType: string; PhysicalResourceId: string }[]).map((summary) => [
        summary.LogicalResourceId,
        { type: summary.ResourceType, physicalId: summary.PhysicalResourceId },
      ]),
    );
  }

  /** Resource types in the stack's template that the emulator did not create: type → logical ids. */
  async skippedTypes(stage: string): Promise<Map<string, string[]>> {
    const [template, created] = [await this.template(stage), await this.resources(stage)];
    const skipped = new Map<string, string[]>();
    for (const [logicalId, { Type }] of Object.entries(template.Resources)) {
      if (created.has(logicalId)) continue;
      skipped.set(Type, [...(skipped.get(Type) ?? []), logicalId]);
    }
    return skipped;
  }

  async imageTags(repository: string): Promise<string[]> {
    const { imageDetails } = await this.emulator.aws('ecr', 'describe-images', '--repository-name', repository);
    return (imageDetails as { imageTags?: string[] }[]).flatMap((image) => image.imageTags ?? []);
  }

  async services(stage: string): Promise<{ serviceName: string; taskDefinition: string; desiredCount: number; status: string }[]> {
    const cluster = stackName(stage);
    const { serviceArns } = await this.emulator.aws('ecs', 'list-services', '--cluster', cluster);
    if ((serviceArns as string[]).length === 0) return [];
    const { services } = await this.emulator.aws('ecs', 'describe-services', '--cluster', cluster, '--services', ...(serviceArns as string[]));
    return (services as { serviceName: string; taskDefinition: string; desiredCount: number; status: string }[]).sort((a, b) =>
      a.serviceName.localeCompare(b.serviceName),
    );
  }

  async container(taskDefinition: string): Promise<{ image: string; environment: { name: string; value: unknown }[] }> {
    const { taskDefinition: found } = await this.emulator.aws('ecs', 'describe-task-definition', '--task-definition', taskDefinition);
    return found.containerDefinitions[0];
  }

  async serviceLinkedRoles(service: string): Promise<string[]> {
    const { Roles } = await this.emulator.aws('iam', 'list-roles', '--path-prefix', `/aws-service-role/${service}/`);
    return (Roles as { RoleName: string }[]).map((role) => role.RoleName);
  }

  async queueUrls(prefix: string): Promise<string[]> {
    const answer = await this.emulator.aws('sqs', 'list-queues', '--queue-name-prefix', prefix);
    return (answer?.QueueUrls as string[] | undefined) ?? [];
  }

  async topicArns(): Promise<string[]> {
    return ((await this.emulator.aws('sns', 'list-topics')).Topics as { TopicArn: string }[]).map((topic) => topic.TopicArn);
  }

  /** DynamoDB tables whose names start with prefix. */
  async tableNames(prefix: string): Promise<string[]> {
    const { TableNames } = await this.emulator.aws('dynamodb', 'list-tables');
    return (TableNames as string[]).filter((name) => name.startsWith(prefix));
  }

  async repositoryExists(repository: string): Promise<boolean> {
    const result = await this.emulator.awsResult('ecr', 'describe-repositories', '--repository-names', repository);
    if (result.status === 0) return true;
    if (result.stderr.includes('RepositoryNotFoundException')) return false;
    throw new Error(`describe-repositories ${repository} failed: ${result.stderr}`);
  }
}

export const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);
export const stackName = (stage: string) => `ordersync-${stage}`;
export const repositoryName = (stage: string, component: string) => `ordersync-${stage}/${component}`;
export const registry = () => `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

/** The lines of a docker calls list that build or push or log in. */
export function imageWork(calls: string[]): string[] {
  return calls.filter((call) => /^docker (build|buildx build|push|login)\b/.test(call));
}

/** A run's output for assertion messages. */
export function describeRun(what: string, run: RunResult, problems: string[] = []): string {
  const moto = problems.length > 0 ? `\n--- moto reported:\n${problems.join('\n')}` : '';
  return `${what} exited ${run.status} after ${Math.round(run.ms / 1000)} s\n--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}${moto}`;
}

/** What every completed deploy leaves, in any mode, checked against the emulator. */
export async function expectDeployedStage(rehearsal: Rehearsal, stage: string, mode: Mode): Promise<void> {
  const prefix = stackName(stage);
  const aws = rehearsal.emulator.aws;
  // Independent reads, a few CLI processes at a time.
  const [stack, template, services, receiverImages, processorImages, ecsRoles, scalingRoles, queues] = await Promise.all([
    rehearsal.stack(stage),
    rehearsal.template(stage),
    rehearsal.services(stage),
    rehearsal.imageTags(repositoryName(stage, 'receiver')),
    rehearsal.imageTags(repositoryName(stage, 'processor')),
    rehearsal.serviceLinkedRoles('ecs.amazonaws.com'),
    rehearsal.serviceLinkedRoles('ecs.application-autoscaling.amazonaws.com'),
    rehearsal.queueUrls(`${prefix}-orders`),
  ]);
  expect(stack, `stack ${prefix}`).to.not.equal(undefined);
  expect(stack!.StackStatus).to.match(/^(CREATE|UPDATE)_COMPLETE$/);

  // Outputs: every one the deployed template declares, and those docs/deploy.md names, each real.
  const outputs = Object.fromEntries((stack!.Outputs ?? []).map(({ OutputKey, OutputValue }) => [OutputKey, OutputValue]));
  expect(Object.keys(outputs).sort(), 'stack outputs = the Outputs of its template').to.deep.equal(Object.keys(template.Outputs ?? {}).sort());
  expect(outputs).to.include.keys(DOCUMENTED_OUTPUTS);
  expect(outputs.LoadBalancerUrl).to.match(/^http:\/\/\S+\.elb\.amazonaws\.com$/);
  expect(outputs.OrdersTopicArn).to.equal(`arn:aws:sns:${REGION}:${ACCOUNT}:${prefix}-orders`);
  expect(outputs.OrdersQueueUrl).to.match(new RegExp(`/${ACCOUNT}/${prefix}-orders$`));
  expect(outputs.OrdersDeadLetterQueueUrl).to.match(new RegExp(`/${ACCOUNT}/${prefix}-orders-dlq$`));
  for (const component of COMPONENTS) {
    const key = component === 'receiver' ? 'ReceiverRepositoryUri' : 'ProcessorRepositoryUri';
    expect(outputs[key]).to.equal(`${registry()}/${repositoryName(stage, component)}`);
  }
  expect(outputs.ClusterName).to.equal(prefix);
  expect(outputs.EcsLogGroupName).to.equal(`/ecs/${prefix}`);
  expect(outputs.OrdersTableName).to.equal(`${prefix}-${tableSettings.name}`);
  // ... and what they name exists in the emulator (moto lists queues with URLs on its own host:
  // compare the names).
  expect(queues.map(queueName)).to.have.members([queueName(outputs.OrdersQueueUrl!), queueName(outputs.OrdersDeadLetterQueueUrl!)]);
  const [topic, clusters, logGroups, table, lambda] = await Promise.all([
    aws('sns', 'get-topic-attributes', '--topic-arn', outputs.OrdersTopicArn!),
    aws('ecs', 'describe-clusters', '--clusters', outputs.ClusterName!),
    aws('logs', 'describe-log-groups', '--log-group-name-prefix', outputs.EcsLogGroupName!),
    aws('dynamodb', 'describe-table', '--table-name', outputs.OrdersTableName!),
    aws('lambda', 'get-function-configuration', '--function-name', `${prefix}-processOrder`),
  ]);
  expect(topic.Attributes.TopicArn).to.equal(outputs.OrdersTopicArn);
  // The orders table, created by the deploy with the keys and billing of resources/orders-table.json
  // (its TTL, encryption and point-in-time recovery: ordersTableSettingsMotoIgnores below).
  expect(table.Table).to.deep.include({ TableName: outputs.OrdersTableName, TableStatus: 'ACTIVE' });
  expect(table.Table.KeySchema).to.deep.equal([
    { AttributeName: tableSettings.partitionKey.name, KeyType: 'HASH' },
    { AttributeName: tableSettings.sortKey.name, KeyType: 'RANGE' },
  ]);
  expect(table.Table.BillingModeSummary?.BillingMode).to.equal(tableSettings.billingMode);
  // The Lambda exists in every mode and is given the table (moto creates the function; it runs none).
  expect(lambda.Environment?.Variables?.ORDERS_TABLE_NAME, 'the Lambda’s ORDERS_TABLE_NAME').to.equal(outputs.OrdersTableName);
  expect(clusters.clusters.map((cluster: { status: string }) => cluster.status)).to.deep.equal(['ACTIVE']);
  expect(logGroups.logGroups.map((group: { logGroupName: string }) => group.logGroupName)).to.include(outputs.EcsLogGroupName);

  // The images: tagged IMAGE_TAG in both repositories.
  expect(receiverImages, 'receiver images').to.include(IMAGE_TAG);
  expect(processorImages, 'processor images').to.include(IMAGE_TAG);

  // The services: receiver always, processor in ecs and both; each runs IMAGE_TAG, with its minimum task count.
  const expected = mode === 'lambda' ? ['receiver'] : ['processor', 'receiver'];
  expect(services.map((service) => service.serviceName), 'ECS services').to.deep.equal(expected);
  const containers = await Promise.all(services.map((service) => rehearsal.container(service.taskDefinition)));
  services.forEach((service, index) => {
    const environment = taskEnv(containers[index]!.environment);
    expect(environment.ORDERS_TABLE_NAME, `${service.serviceName} ORDERS_TABLE_NAME`).to.equal(outputs.OrdersTableName);
    expect(service.status).to.equal('ACTIVE');
    expect(service.desiredCount, `${service.serviceName} desired count`).to.equal(1);
    expect(containers[index]!.image, `${service.serviceName} image`).to.equal(`${registry()}/${repositoryName(stage, service.serviceName)}:${IMAGE_TAG}`);
  });

  // The service-linked roles the deploy makes sure of (account-wide, so any stage's deploy made them).
  expect(ecsRoles, 'ECS service-linked role').to.have.length(1);
  expect(scalingRoles, 'Application Auto Scaling service-linked role').to.have.length(1);
}

/**
 * What moto's CloudFormation leaves out of the deployed orders table, in words for the output:
 * moto 5.2 creates the table with its keys and billing mode but ignores TimeToLiveSpecification,
 * SSESpecification and PointInTimeRecoverySpecification (TTL disabled, no SSE description,
 * point-in-time recovery disabled), and never deletes expired items anyway. Each is checked in the
 * packaged template instead (tests/template/orders-table.test.ts). A setting moto does apply must
 * be the template's.
 */
export async function ordersTableSettingsMotoIgnores(rehearsal: Rehearsal, stage: string): Promise<string[]> {
  const aws = rehearsal.emulator.aws;
  const name = (await rehearsal.outputs(stage)).OrdersTableName!;
  const [ttl, backups, table] = await Promise.all([
    aws('dynamodb', 'describe-time-to-live', '--table-name', name),
    aws('dynamodb', 'describe-continuous-backups', '--table-name', name),
    aws('dynamodb', 'describe-table', '--table-name', name),
  ]);
  const ignored: string[] = [];
  const ttlStatus = ttl.TimeToLiveDescription?.TimeToLiveStatus as string | undefined;
  if (ttlStatus === 'ENABLED') {
    expect(ttl.TimeToLiveDescription.AttributeName, 'TTL attribute').to.equal(tableSettings.expiresAtAttribute);
  } else {
    ignored.push(`TTL on ${tableSettings.expiresAtAttribute} (moto says ${ttlStatus ?? 'nothing'})`);
  }
  const sse = table.Table.SSEDescription?.Status as string | undefined;
  if (sse !== 'ENABLED') ignored.push(`encryption with the AWS managed key (moto says ${sse ?? 'nothing'})`);
  // stage names rehearsed here are not prod: the template asks for point-in-time recovery off.
  const pitr = backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus as string | undefined;
  expect(pitr, 'point-in-time recovery of a non-prod stage').to.not.equal('ENABLED');
  ignored.push('point-in-time recovery (off outside prod, and moto applies none)');
  return ignored;
}

/** The docker calls of a first deploy: log in once, then build and push each image, in that order. */
export function expectImagesBuiltAndPushed(calls: string[], stage: string): void {
  const work = imageWork(calls);
  const uri = (component: string) => `${registry()}/${repositoryName(stage, component)}:${IMAGE_TAG}`;
  expect(work).to.deep.equal([
    `docker login --username AWS --password-stdin ${registry()}`,
    `docker build --platform linux/amd64 -f containers/receiver/Dockerfile -t ${uri('receiver')} .`,
    `docker push ${uri('receiver')}`,
    `docker build --platform linux/amd64 -f containers/processor/Dockerfile -t ${uri('processor')} .`,
    `docker push ${uri('processor')}`,
  ]);
}
