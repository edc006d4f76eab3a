import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';
import { buildContainers, type BuildResult } from '../../scripts/build.ts';
import { freePort } from '../support/child-process.ts';
import { makeOrder } from '../support/orders.ts';
import { requirePythonTool } from '../support/python-tools.ts';
import { startEmulator, type Emulator } from './emulator.ts';
import { ECR_ACCESS_DENIED, EXPIRED_TOKEN, startFakeAws, type FakeAws } from './fake-aws.ts';
import { coverageProblems, describeCoverage } from './moto-coverage.ts';
import {
  COMPONENTS,
  describeRun,
  expectDeployedStage,
  expectImagesBuiltAndPushed,
  IMAGE_TAG,
  imageWork,
  ordersTableSettingsMotoIgnores,
  Rehearsal,
  repositoryName,
  stackName,
  type Mode,
  type RunResult,
  type Template,
} from './stage.ts';
import { imageEnv, startTask, taskEnv, type RunningTask } from './tasks.ts';

/**
 * The deploy rehearsal: the real `npm run deploy` and `npm run remove` (scripts/deploy.sh,
 * remove.sh, the real AWS CLI and the real osls), as a user runs them, against moto in server
 * mode on a loopback port standing in for AWS. Only docker is a stand-in (bin/docker: no engine
 * here; a push puts an image manifest into the emulator's ECR).
 *
 * Three stages, one per processor mode (a deploy against moto takes 10-25 s, so each stage carries
 * more than one case):
 *   rehearsal-ecs     the first deploy of a fresh stage on a fresh account (service-linked roles
 *                     included), a second deploy, the deployed configuration run end to end, a
 *                     deploy and a remove whose AWS checks fail, the removal
 *   rehearsal-lambda  its first deploy over the stack a failed first `sls deploy` leaves (the
 *                     deployment bucket only, no repositories), the removal
 *   rehearsal-both    its first deploy stopped at the image push, the deploy that completes it,
 *                     the removal
 *
 * What moto does not do is said in the output, never papered over: moto-server.py prints the
 * four moto defects it corrects, the resource types moto's CloudFormation skips are listed
 * and must each be covered by a template test (moto-coverage.ts), and so are the orders table's
 * settings it ignores (TTL, encryption, point-in-time recovery: tests/template/orders-table.test.ts).
 */
const ECS = 'rehearsal-ecs';
const LAMBDA = 'rehearsal-lambda';
const BOTH = 'rehearsal-both';

/** The template osls creates a new stack with (its deployment bucket only), before updating it. */
const OSLS_CORE_TEMPLATE = join(ROOT, 'node_modules', 'osls', 'lib', 'plugins', 'aws', 'package', 'lib', 'core-cloudformation-template.json');

const note = (text: string) => console.log(`      ${text}`);

describe('deploy rehearsal: npm run deploy / remove against moto', function () {
  let emulator: Emulator | undefined;
  let rehearsal: Rehearsal;
  let workDir: string | undefined;
  const fakes: FakeAws[] = [];
  const tasks: RunningTask[] = [];
  /** Resource types moto skipped, with the stages where it did. */
  const skipped = new Map<string, Set<string>>();

  async function recordSkipped(stage: string): Promise<Map<string, string[]>> {
    const found = await rehearsal.skippedTypes(stage);
    for (const type of found.keys()) skipped.set(type, (skipped.get(type) ?? new Set()).add(stage));
    return found;
  }

  /** A run that must succeed, with everything needed to see why it did not. */
  async function expectSuccess(what: string, run: RunResult, mark: number): Promise<void> {
    expect(run.status, describeRun(what, run, emulator!.problems(mark))).to.equal(0);
    note(`${what}: ${(run.ms / 1000).toFixed(1)} s`);
  }

  /** The first deploy of a fresh stage, and what it must leave. */
  async function firstDeploy(stage: string, mode: Mode): Promise<RunResult> {
    expect(await rehearsal.stack(stage), `no stack ${stackName(stage)} before its first deploy`).to.equal(undefined);
    await rehearsal.clearDockerCalls();
    const mark = emulator!.mark();
    const run = await rehearsal.deploy(stage, mode);
    await expectSuccess(`npm run deploy -- --stage ${stage} --param processorMode=${mode}`, run, mark);
    expect(run.stdout).to.include(`first deploy of stage ${stage}`);
    expectImagesBuiltAndPushed(await rehearsal.dockerCalls(), stage);
    await expectDeployedStage(rehearsal, stage, mode);
    expect(run.stdout).to.include(`deployed: ${(await rehearsal.outputs(stage)).LoadBalancerUrl}`);
    await recordSkipped(stage);
    return run;
  }

  /** npm run remove, and nothing of the stage left that the stack held. */
  async function removeStage(stage: string): Promise<void> {
    const mark = emulator!.mark();
    const run = await rehearsal.remove(stage);
    await expectSuccess(`npm run remove -- --stage ${stage}`, run, mark);
    const [stack, receiverRepository, processorRepository, queues, topics, tables, { clusterArns }] = await Promise.all([
      rehearsal.stack(stage),
      rehearsal.repositoryExists(repositoryName(stage, 'receiver')),
      rehearsal.repositoryExists(repositoryName(stage, 'processor')),
      rehearsal.queueUrls(`${stackName(stage)}-`),
      rehearsal.topicArns(),
      rehearsal.tableNames(`${stackName(stage)}-`),
      emulator!.aws('ecs', 'list-clusters'),
    ]);
    expect(stack, 'the stack after npm run remove').to.equal(undefined);
    expect({ receiver: receiverRepository, processor: processorRepository }, 'repositories').to.deep.equal({ receiver: false, processor: false });
    expect(queues, 'queues of the stage').to.deep.equal([]);
    // The orders table goes with a non-prod stack (DeletionPolicy Delete; prod's is Retain).
    expect(tables, 'DynamoDB tables of the stage').to.deep.equal([]);
    expect(topics.filter((arn) => arn.includes(`:${stackName(stage)}-`)), 'topics of the stage').to.deep.equal([]);
    if ((clusterArns as string[]).some((arn) => arn.endsWith(`/${stackName(stage)}`))) {
      note(`moto left the ECS cluster ${stackName(stage)} behind: its CloudFormation has no delete for AWS::ECS::Cluster`);
    }
  }

  before(async function () {
    this.timeout(60_000);
    requirePythonTool(this, 'moto');
    requirePythonTool(this, 'aws-cli');
    workDir = await mkdtemp(join(tmpdir(), 'ordersync-rehearsal-'));
    const callsFile = join(workDir, 'docker-calls');
    await writeFile(callsFile, '');
    emulator = await startEmulator();
    for (const fix of emulator.fixes()) note(`moto-server.py: ${fix}`);
    rehearsal = new Rehearsal(emulator, callsFile);
  });

  after(async function () {
    this.timeout(60_000);
    rehearsal?.killAll();
    await Promise.all(tasks.map((task) => task.stop(5000)));
    await Promise.all(fakes.map((fake) => fake.close()));
    // Every error moto hit, expected (the error cases) or not: a moto crash shows up here.
    for (const problem of emulator?.problems() ?? []) note(`moto raised: ${problem}`);
    await emulator?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  describe(`stage ${ECS} (processorMode=ecs)`, () => {
    it('the first deploy of a fresh stage on a fresh account makes the service-linked roles, creates the stack, builds and pushes both images and deploys the services with them', async function () {
      this.timeout(200_000);
      // A fresh emulator: no service-linked role yet, as on an account that never ran ECS.
      expect(await rehearsal.serviceLinkedRoles('ecs.amazonaws.com')).to.deep.equal([]);
      expect(await rehearsal.serviceLinkedRoles('ecs.application-autoscaling.amazonaws.com')).to.deep.equal([]);
      const run = await firstDeploy(ECS, 'ecs');
      for (const service of ['ecs.amazonaws.com', 'ecs.application-autoscaling.amazonaws.com']) {
        expect(run.stdout).to.include(`creating the service-linked role for ${service}`);
      }
      const ignored = await ordersTableSettingsMotoIgnores(rehearsal, ECS);
      if (ignored.length > 0) {
        note(`the deploy created the orders table; moto's CloudFormation ignores its ${ignored.join('; ')}: tests/template/orders-table.test.ts checks them in the template`);
      }
    });

    it('a second deploy of the same tag builds nothing and deploys the stack again', async function () {
      this.timeout(120_000);
      const eventsBefore = (await rehearsal.events(ECS)).length;
      await rehearsal.clearDockerCalls();
      const mark = emulator!.mark();
      const run = await rehearsal.deploy(ECS, 'ecs');
      await expectSuccess(`second npm run deploy -- --stage ${ECS}`, run, mark);
      expect(imageWork(await rehearsal.dockerCalls()), 'docker login/build/push').to.deep.equal([]);
      for (const component of COMPONENTS) expect(run.stdout).to.include(`${component} image ${IMAGE_TAG} is already in ${repositoryName(ECS, component)}`);
      expect(run.stdout).to.not.include('first deploy');
      expect(run.stdout).to.include(`deploying stage ${ECS} with images ${IMAGE_TAG}`);
      const events = await rehearsal.events(ECS);
      if (/No changes to deploy/.test(run.stdout)) {
        note('osls found nothing to change: "No changes to deploy. Deployment skipped."');
      } else {
        expect(events.length, 'stack events after the update').to.be.greaterThan(eventsBefore);
        expect(events[0]!.ResourceStatus).to.equal('UPDATE_COMPLETE');
      }
      await expectDeployedStage(rehearsal, ECS, 'ecs');
    });

    it('the deployed task definitions, run with the images’ bundles against the emulator, take orders and process them', async function () {
      this.timeout(120_000);
      const builds = await buildContainers(COMPONENTS, join(workDir!, 'dist'));
      const bundle = (component: string) => (builds.find((build) => build.component === component) as BuildResult).entry;

      const services = await rehearsal.services(ECS);
      const environment = async (name: string) => {
        const service = services.find((found) => found.serviceName === name);
        expect(service, `service ${name}`).to.not.equal(undefined);
        const container = await rehearsal.container(service!.taskDefinition);
        expect(container.image).to.match(new RegExp(`:${IMAGE_TAG}$`));
        return taskEnv(container.environment);
      };
      const receiverEnv = await environment('receiver');
      const processorEnv = await environment('processor');
      expect(receiverEnv.ORDERS_TOPIC_ARN).to.equal((await rehearsal.outputs(ECS)).OrdersTopicArn);
      expect(processorEnv.ORDERS_QUEUE_URL).to.equal((await rehearsal.outputs(ECS)).OrdersQueueUrl);
      for (const env of [receiverEnv, processorEnv]) expect(env.ORDERS_TABLE_NAME).to.equal((await rehearsal.outputs(ECS)).OrdersTableName);

      // moto does not create AWS::SNS::Subscription: make the template's own subscription by hand.
      const subscribed = await subscribeAsTheTemplateSays(ECS);
      for (const line of subscribed) note(line);

      // What a task gets from its platform, not from its definition: the task role's credentials
      // and where AWS is. And two local necessities: a free port (each task has its own IP on
      // AWS), and the heartbeat file somewhere writable.
      const platform = { AWS_ENDPOINT_URL: emulator!.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      const port = await freePort();
      const processor = startTask('processor', bundle('processor'), {
        ...imageEnv('processor'),
        ...processorEnv,
        ...platform,
        HEARTBEAT_FILE: join(workDir!, 'processor-heartbeat'),
      });
      tasks.push(processor);
      const receiver = startTask('receiver', bundle('receiver'), { ...imageEnv('receiver'), ...receiverEnv, ...platform, PORT: String(port) });
      tasks.push(receiver);
      note(`receiver: the task definition's ${Object.keys(receiverEnv).join(', ')}; PORT ${receiverEnv.PORT} → ${port} here`);
      note(`processor: the task definition's ${Object.keys(processorEnv).join(', ')}`);

      await processor.waitFor('consumer.started', (line) => line.event === 'consumer.started', 20_000);
      const baseUrl = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const healthy = await fetch(`${baseUrl}/health`).then((answer) => answer.ok, () => false);
        if (healthy) break;
        expect(receiver.child.exitCode, `receiver exited: ${receiver.stderr()}`).to.equal(null);
        expect(Date.now(), 'receiver /health within 20 s').to.be.below(deadline);
        await sleep(100);
      }

      const ids = ['rehearsal-001', 'rehearsal-002', 'rehearsal-003'];
      for (const id of ids) {
        const answer = await fetch(`${baseUrl}/orders/async`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `req-${id}` },
          body: JSON.stringify(makeOrder(id)),
        });
        const body = (await answer.json()) as Record<string, unknown>;
        expect(answer.status, JSON.stringify(body)).to.equal(202);
        expect(body).to.include({ status: 'accepted', order_id: id });
      }

      const processingMs = Number(processorEnv.PROCESSING_TIME_MS ?? 3000);
      for (const id of ids) {
        const line = await processor.waitFor(
          `order.processed for ${id}`,
          (found) => found.event === 'order.processed' && found.order_id === id,
          processingMs + 20_000,
        );
        expect(line).to.include({ path: 'ecs', request_id: `req-${id}` });
      }
      expect(processor.logs.events('order.failed')).to.deep.equal([]);
      expect(receiver.logs.events('order.accepted').map((line) => line.order_id)).to.have.members(ids);

      const [receiverExit, processorExit] = await Promise.all([receiver.stop(), processor.stop()]);
      expect(receiverExit, `receiver: ${receiver.stderr()}`).to.deep.equal({ code: 0, signal: null });
      expect(processorExit, `processor: ${processor.stderr()}`).to.deep.equal({ code: 0, signal: null });
      expect(processor.logs.events('consumer.stopped')).to.have.length(1);
    });

    it('a deploy whose DescribeStacks fails with another error than "does not exist" stops with that error and touches nothing', async function () {
      this.timeout(60_000);
      const fake = await startFakeAws(EXPIRED_TOKEN);
      fakes.push(fake);
      const before = await rehearsal.stack(ECS);
      const eventsBefore = await rehearsal.events(ECS);
      await rehearsal.clearDockerCalls();
      const run = await rehearsal.deploy(ECS, 'ecs', { AWS_ENDPOINT_URL_CLOUDFORMATION: fake.endpoint });
      expect(run.status, describeRun('deploy', run)).to.not.equal(0);
      expect(run.stderr).to.include('ExpiredToken').and.to.include(EXPIRED_TOKEN.message);
      expect(fake.requests.length, 'CloudFormation requests').to.be.greaterThan(0);
      expect(fake.requests.map((seen) => seen.operation), 'CloudFormation requests').to.satisfy((operations: string[]) =>
        operations.every((operation) => operation === 'DescribeStacks'),
      );
      expect(fake.sdkRequests(), 'requests from osls (the AWS SDK for JavaScript): sls must not run').to.deep.equal([]);
      expect(run.stdout).to.not.match(/Deploying ordersync|first deploy/);
      // docker buildx version (the BuildKit check, before anything is asked of AWS) and nothing else.
      expect(await rehearsal.dockerCalls(), 'docker calls').to.satisfy((calls: string[]) => calls.every((call) => call === 'docker buildx version'));
      const after = await rehearsal.stack(ECS);
      expect({ status: after?.StackStatus, updated: after?.LastUpdatedTime, outputs: after?.Outputs }).to.deep.equal({
        status: before?.StackStatus,
        updated: before?.LastUpdatedTime,
        outputs: before?.Outputs,
      });
      expect(await rehearsal.events(ECS), 'stack events').to.deep.equal(eventsBefore);
    });

    it('a remove whose DescribeRepositories fails with another error than "not found" stops with that error and removes nothing', async function () {
      this.timeout(60_000);
      const fake = await startFakeAws(ECR_ACCESS_DENIED);
      fakes.push(fake);
      const eventsBefore = await rehearsal.events(ECS);
      const run = await rehearsal.remove(ECS, { AWS_ENDPOINT_URL_ECR: fake.endpoint });
      expect(run.status, describeRun('remove', run)).to.not.equal(0);
      expect(run.stderr).to.include('AccessDeniedException').and.to.include('is not authorized to perform: ecr:DescribeRepositories');
      expect(fake.requests.map((seen) => seen.operation)).to.satisfy((operations: string[]) =>
        operations.length > 0 && operations.every((operation) => operation.endsWith('.DescribeRepositories')),
      );
      expect(fake.sdkRequests(), 'requests from osls: sls remove must not run').to.deep.equal([]);
      expect(run.stdout).to.not.include('Removing ordersync');
      expect((await rehearsal.stack(ECS))?.StackStatus).to.match(/_COMPLETE$/);
      expect(await rehearsal.events(ECS), 'stack events').to.deep.equal(eventsBefore);
      for (const component of COMPONENTS) expect(await rehearsal.imageTags(repositoryName(ECS, component))).to.include(IMAGE_TAG);
    });

    it('npm run remove deletes the stack with its non-empty repositories, queues, topic and orders table', async function () {
      this.timeout(120_000);
      for (const component of COMPONENTS) expect(await rehearsal.imageTags(repositoryName(ECS, component)), 'images before the removal').to.not.deep.equal([]);
      await removeStage(ECS);
    });
  });

  describe(`stage ${LAMBDA} (processorMode=lambda): its first deploy over the stack a failed first sls deploy leaves`, () => {
    it('over a stack holding only the deployment bucket, the deploy takes the first-deploy path, builds and pushes both images and completes the stack', async function () {
      this.timeout(200_000);
      // osls first creates a stack holding only its deployment bucket, then updates it to the full
      // template; when that update fails, AWS rolls it back to the bucket alone
      // (UPDATE_ROLLBACK_COMPLETE). moto rolls nothing back, so the rehearsal makes that stack with
      // osls's own first template (moto reports it CREATE_COMPLETE; the script treats both alike).
      expect(await rehearsal.stack(LAMBDA)).to.equal(undefined);
      await emulator!.aws(
        'cloudformation',
        'create-stack',
        '--stack-name',
        stackName(LAMBDA),
        '--template-body',
        `file://${OSLS_CORE_TEMPLATE}`,
        '--tags',
        `Key=STAGE,Value=${LAMBDA}`,
      );
      expect(Object.keys(await rehearsal.outputs(LAMBDA))).to.deep.equal(['ServerlessDeploymentBucketName']);

      await rehearsal.clearDockerCalls();
      const mark = emulator!.mark();
      const run = await rehearsal.deploy(LAMBDA, 'lambda');
      await expectSuccess(`npm run deploy -- --stage ${LAMBDA} --param processorMode=lambda over a stack without repositories`, run, mark);
      expect(run.stdout).to.include(`stack ${stackName(LAMBDA)} has no image repositories`);
      expect(run.stdout).to.include(`first deploy of stage ${LAMBDA}`);
      expectImagesBuiltAndPushed(await rehearsal.dockerCalls(), LAMBDA);
      await expectDeployedStage(rehearsal, LAMBDA, 'lambda');
      expect(run.stdout).to.include(`deployed: ${(await rehearsal.outputs(LAMBDA)).LoadBalancerUrl}`);
      await recordSkipped(LAMBDA);
      // A stack holding only the deployment bucket deleted no queue: no wait for queue names.
      expect(run.stdout, 'no wait for queue names').to.not.match(/waiting \d+ s: the stack deleted its queues/);
    });

    it('npm run remove deletes it all', async function () {
      this.timeout(120_000);
      await removeStage(LAMBDA);
    });
  });

  describe(`stage ${BOTH} (processorMode=both): its first deploy stops at the image push`, () => {
    it('the first deploy of the fresh stage creates the stack with its repositories and no task, then fails at the push', async function () {
      this.timeout(200_000);
      expect(await rehearsal.stack(BOTH)).to.equal(undefined);
      await rehearsal.clearDockerCalls();
      const failed = await rehearsal.deploy(BOTH, 'both', { REHEARSAL_DOCKER_FAIL_PUSH: '1' });
      expect(failed.status, describeRun('deploy with a failing push', failed)).to.not.equal(0);
      expect(failed.stdout).to.include(`first deploy of stage ${BOTH}`);
      expect(failed.stderr).to.include('failed on purpose');
      const [outputs, services, receiverImages, processorImages] = await Promise.all([
        rehearsal.outputs(BOTH),
        rehearsal.services(BOTH),
        rehearsal.imageTags(repositoryName(BOTH, 'receiver')),
        rehearsal.imageTags(repositoryName(BOTH, 'processor')),
      ]);
      expect(outputs).to.include.keys('ReceiverRepositoryUri', 'ProcessorRepositoryUri');
      expect([...receiverImages, ...processorImages], 'images').to.deep.equal([]);
      expect(services.map((service) => [service.serviceName, service.desiredCount]), 'services while there is no image').to.deep.equal([
        ['processor', 0],
        ['receiver', 0],
      ]);
    });

    it('the next deploy builds, pushes and completes the stack', async function () {
      this.timeout(200_000);
      await rehearsal.clearDockerCalls();
      const mark = emulator!.mark();
      const run = await rehearsal.deploy(BOTH, 'both');
      await expectSuccess(`npm run deploy -- --stage ${BOTH} --param processorMode=both after the failed push`, run, mark);
      expect(run.stdout).to.not.include('first deploy');
      expectImagesBuiltAndPushed(await rehearsal.dockerCalls(), BOTH);
      await expectDeployedStage(rehearsal, BOTH, 'both');
      await recordSkipped(BOTH);
    });

    it('npm run remove deletes it all', async function () {
      this.timeout(120_000);
      await removeStage(BOTH);
    });
  });

  describe('what moto did not do', () => {
    it('moto raised no error anywhere: a crash that a client retried past would otherwise go unseen', function () {
      expect(emulator!.problems(), "moto's tracebacks").to.deep.equal([]);
    });

    it('every resource type moto skipped is covered by a template test', function () {
      expect(skipped.size, 'no deployed stack was examined (did every deploy fail?)').to.be.greaterThan(0);
      const types = [...skipped.keys()].sort();
      note(`moto skipped these resource types; the template tests cover them: ${types.map(describeCoverage).join(', ')}`);
      expect(coverageProblems(types)).to.deep.equal([]);
    });
  });

  /**
   * moto does not create AWS::SNS::Subscription. For the orders to reach the processor, subscribe
   * each SQS subscription of the stack's own template through the SNS API, with the template's
   * properties, and say so.
   */
  async function subscribeAsTheTemplateSays(stage: string): Promise<string[]> {
    const template: Template = await rehearsal.template(stage);
    const created = await rehearsal.resources(stage);
    const said: string[] = [];
    const sqsSubscriptions = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::SNS::Subscription' && resource.Properties?.Protocol === 'sqs',
    );
    expect(sqsSubscriptions, `the ${stage} template's SQS subscriptions`).to.have.length.greaterThan(0);
    for (const [logicalId, resource] of sqsSubscriptions) {
      if (created.has(logicalId)) continue;
      const properties = resource.Properties ?? {};
      expect(properties.RawMessageDelivery, `${logicalId} RawMessageDelivery`).to.equal(true);
      const topicArn = physicalId(created, properties.TopicArn?.Ref, logicalId);
      const queue = physicalId(created, properties.Endpoint?.['Fn::GetAtt']?.[0], logicalId);
      const queueUrl = queue.startsWith('http') ? queue : (await emulator!.aws('sqs', 'get-queue-url', '--queue-name', queue)).QueueUrl;
      const { Attributes } = await emulator!.aws('sqs', 'get-queue-attributes', '--queue-url', queueUrl, '--attribute-names', 'QueueArn');
      await emulator!.aws(
        'sns',
        'subscribe',
        '--topic-arn',
        topicArn,
        '--protocol',
        'sqs',
        '--notification-endpoint',
        Attributes.QueueArn,
        '--attributes',
        `RawMessageDelivery=${String(properties.RawMessageDelivery)}`,
      );
      said.push(
        `moto skips AWS::SNS::Subscription: the rehearsal subscribed ${Attributes.QueueArn} to ${topicArn} itself, ` +
          `with ${logicalId}'s properties (Protocol sqs, RawMessageDelivery true)`,
      );
    }
    return said;
  }
});

function physicalId(created: Map<string, { physicalId: string }>, logicalId: unknown, owner: string): string {
  if (typeof logicalId !== 'string') throw new Error(`${owner}: cannot read the resource it refers to (${JSON.stringify(logicalId)})`);
  const found = created.get(logicalId);
  if (!found) throw new Error(`${owner} refers to ${logicalId}, which moto did not create`);
  return found.physicalId;
}
