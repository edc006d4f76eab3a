import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';
import { ACCOUNT_REGISTRY, createFakeTools, type FakeTools } from './fake-tools.ts';

/**
 * npm run deploy / remove / logs against stand-ins for aws, docker and sls (fake-tools.ts): the
 * order of the first deploy (repositories, then images, then services), later deploys, the
 * teardown, and the log commands. Nothing reaches AWS or Docker.
 */
const STAGE = 'ci';
const TAG = 'abc123def456';
const repo = (component: string) => `${ACCOUNT_REGISTRY}/ordersync-${STAGE}/${component}`;

function run(fakes: FakeTools, script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [join(ROOT, 'scripts', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...fakes.env, IMAGE_TAG: TAG, PATH: `${fakes.bin}:${process.env.PATH ?? ''}`, ...env },
    timeout: 20_000,
  });
}

/** The calls that matter for the order: roles, deploys, builds, pushes, deletions, removal. */
async function steps(fakes: FakeTools): Promise<string[]> {
  return (await fakes.calls()).filter((call) =>
    /^(sls|docker (build|push)|aws ecr batch-delete-image|aws iam create-service-linked-role)/.test(call),
  );
}

const ECS_ROLE = 'aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com';
const SCALING_ROLE = 'aws iam create-service-linked-role --aws-service-name ecs.application-autoscaling.amazonaws.com';
const build = (component: string, tag = TAG) => [
  `docker build --platform linux/amd64 -f containers/${component}/Dockerfile -t ${repo(component)}:${tag} .`,
  `docker push ${repo(component)}:${tag}`,
];
const EXPIRED = 'An error occurred (ExpiredToken) when calling the DescribeStacks operation: The security token included in the request is expired';

describe('npm run deploy / remove / logs (with stand-ins for aws, docker and sls)', function () {
  this.timeout(30_000);
  let fakes: FakeTools;

  beforeEach(async () => {
    fakes = await createFakeTools(STAGE);
  });

  afterEach(async () => {
    await fakes.cleanup();
  });

  it('first deploy: service-linked roles, a stack without tasks (imageTag=none), images, then the services', async () => {
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE, '--param', 'processorMode=both']);
    expect(result.status, result.stderr).to.equal(0);
    const common = `--stage ${STAGE} --region us-east-1 --param processorMode=both`;
    expect(await steps(fakes)).to.deep.equal([
      ECS_ROLE,
      SCALING_ROLE,
      `sls deploy ${common} --param imageTag=none`,
      ...build('receiver'),
      ...build('processor'),
      `sls deploy ${common} --param imageTag=${TAG}`,
    ]);
    expect(await fakes.calls()).to.include(`docker login --username AWS --password-stdin ${ACCOUNT_REGISTRY}`);
    expect(result.stdout).to.include('deployed: http://ordersync-lb.example');
  });

  it('on a fresh account, creates the service-linked roles and waits until they can be read and used', async () => {
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    const calls = await fakes.calls();
    const firstDeploy = calls.findIndex((call) => call.startsWith('sls deploy'));
    for (const role of [ECS_ROLE, SCALING_ROLE]) {
      const created = calls.indexOf(role);
      expect(created, role).to.be.within(0, firstDeploy);
      // Read back after the creation, then a settling wait, all before the stack is created.
      const service = role.split(' ').at(-1);
      expect(calls.slice(created + 1, firstDeploy)).to.include(`aws iam list-roles --path-prefix /aws-service-role/${service}/ --query Roles[0].RoleName --output text`);
    }
    expect(calls.slice(0, firstDeploy).filter((call) => call === 'sleep 10')).to.have.length(1);
  });

  it('creates no service-linked role that exists already', async () => {
    await fakes.addServiceLinkedRole('ecs.amazonaws.com');
    await fakes.addServiceLinkedRole('ecs.application-autoscaling.amazonaws.com');
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect((await steps(fakes)).filter((step) => step.startsWith('aws iam'))).to.deep.equal([]);
    expect(result.stdout).to.include('service-linked role AWSServiceRoleFor-ecs.amazonaws.com exists');
  });

  it('later deploy: pushes the new commit images and rolls the services with one stack update', async () => {
    run(fakes, 'deploy.sh', ['--stage', STAGE]);
    await fakes.clearCalls();
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE], { IMAGE_TAG: 'fedcba987654' });
    expect(result.status, result.stderr).to.equal(0);
    expect(await steps(fakes)).to.deep.equal([
      ...build('receiver', 'fedcba987654'),
      ...build('processor', 'fedcba987654'),
      `sls deploy --stage ${STAGE} --region us-east-1 --param imageTag=fedcba987654`,
    ]);
  });

  it('deploying a commit whose images are pushed builds nothing', async () => {
    run(fakes, 'deploy.sh', ['--stage', STAGE]);
    await fakes.clearCalls();
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect(await steps(fakes)).to.deep.equal([`sls deploy --stage ${STAGE} --region us-east-1 --param imageTag=${TAG}`]);
  });

  it('after a failed first deploy (a stack without repositories), starts the first deploy again once SQS takes the queue names', async () => {
    await fakes.failCall('sls', 'deploy', 'CREATE_FAILED: OrdersQueue');
    const failed = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(failed.status).to.equal(1);
    await fakes.setStackStatus('UPDATE_ROLLBACK_COMPLETE', { outputs: false });
    await fakes.setQueueDeleted(new Date(Date.now() - 20_000).toISOString());
    await fakes.clearFailures();
    await fakes.clearCalls();

    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`stack ordersync-${STAGE} has no image repositories: its first deploy did not finish`);
    const calls = await fakes.calls();
    const wait = calls.find((call) => /^sleep \d+$/.test(call) && call !== 'sleep 10');
    expect(Number(wait?.split(' ')[1])).to.be.within(38, 41);
    expect(calls.indexOf(wait!)).to.be.below(calls.findIndex((call) => call.startsWith('sls deploy')));
    // The roles were made by the deploy that failed.
    expect(await steps(fakes)).to.deep.equal([
      `sls deploy --stage ${STAGE} --region us-east-1 --param imageTag=none`,
      ...build('receiver'),
      ...build('processor'),
      `sls deploy --stage ${STAGE} --region us-east-1 --param imageTag=${TAG}`,
    ]);
  });

  it('over a stack that deleted no queue (osls\'s bucket-only stack), starts the first deploy without waiting', async () => {
    await fakes.setStackStatus('UPDATE_COMPLETE', { outputs: false });
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include('has no image repositories');
    expect((await fakes.calls()).filter((call) => call.startsWith('sleep') && call !== 'sleep 10')).to.deep.equal([]);
  });

  for (const status of ['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'REVIEW_IN_PROGRESS']) {
    it(`refuses to touch a stack that is ${status}`, async () => {
      await fakes.setStackStatus(status, { outputs: false });
      for (const script of ['deploy.sh', 'remove.sh']) {
        const result = run(fakes, script, ['--stage', STAGE]);
        expect(result.status, script).to.equal(1);
        expect(result.stderr, script).to.include(`stack ordersync-${STAGE} is ${status}: a deploy, update or removal of this stage is under way`);
      }
      expect(await steps(fakes)).to.deep.equal([]);
    });
  }

  for (const [status, advice] of [
    ['ROLLBACK_COMPLETE', `npm run remove -- --stage ${STAGE} --region us-east-1, then deploy again`],
    ['ROLLBACK_FAILED', `npm run remove -- --stage ${STAGE} --region us-east-1`],
    ['UPDATE_ROLLBACK_FAILED', `aws cloudformation continue-update-rollback --stack-name ordersync-${STAGE} --region us-east-1`],
    ['DELETE_FAILED', `npm run remove -- --stage ${STAGE} --region us-east-1 again`],
  ] as const) {
    it(`stops at a stack that is ${status}, saying what to do`, async () => {
      await fakes.setStackStatus(status, { outputs: status !== 'ROLLBACK_COMPLETE' });
      const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
      expect(result.status).to.equal(1);
      expect(result.stderr).to.include(`stack ordersync-${STAGE} is ${status}`);
      expect(result.stderr).to.include(advice);
      expect(await steps(fakes)).to.deep.equal([]);
    });
  }

  it('stops when AWS cannot be asked about the stack, shows the error, and touches nothing', async () => {
    await fakes.setStackStatus('UPDATE_COMPLETE');
    for (const error of [EXPIRED, 'An error occurred (Throttling) when calling the DescribeStacks operation (reached max retries: 4): Rate exceeded']) {
      await fakes.failCall('cloudformation', 'describe-stacks', error);
      const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
      expect(result.status).to.equal(1);
      expect(result.stderr).to.include(error);
      expect(result.stderr).to.include('error: aws cloudformation describe-stacks failed');
      expect(result.stdout).not.to.include('first deploy');
    }
    expect(await steps(fakes)).to.deep.equal([]);
  });

  it('stops when AWS cannot say whether an image is pushed, rather than building it again', async () => {
    await fakes.setStackStatus('UPDATE_COMPLETE');
    await fakes.failCall('ecr', 'describe-images', 'An error occurred (AccessDeniedException) when calling the DescribeImages operation: not authorized');
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('AccessDeniedException');
    expect(await steps(fakes)).to.deep.equal([]);
  });

  it('refuses a stage that cannot name an ECR repository', () => {
    const result = run(fakes, 'deploy.sh', ['--stage', 'Prod_1']);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('stage must be 1 to 20 lower-case letters, digits or hyphens (got "Prod_1")');
  });

  it('says which AWS CLI and which Docker it needs', () => {
    const old = run(fakes, 'deploy.sh', ['--stage', STAGE], { FAKE_AWS_VERSION: 'aws-cli/1.16.312 Python/3.6.0 Linux/5.4 botocore/1.13.48' });
    expect(old.status).to.equal(1);
    expect(old.stderr).to.include('AWS CLI 1.17.10 or later is needed (aws ecr get-login-password); this is aws-cli/1.16.312');
    const v1 = run(fakes, 'deploy.sh', ['--stage', STAGE], { FAKE_AWS_VERSION: 'aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11' });
    expect(v1.status, v1.stderr).to.equal(0);
    const logs = run(fakes, 'logs.sh', ['--stage', STAGE, 'receiver'], { FAKE_AWS_VERSION: 'aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11' });
    expect(logs.status).to.equal(1);
    expect(logs.stderr).to.include('AWS CLI 2.0.0 or later is needed (aws logs tail exists only in AWS CLI v2); this is aws-cli/1.45.11');
    expect(logs.stderr).not.to.include('Invalid choice');
    const noBuildKit = run(fakes, 'deploy.sh', ['--stage', STAGE], { FAKE_BUILDKIT: '' });
    expect(noBuildKit.status).to.equal(1);
    expect(noBuildKit.stderr).to.include('docker with BuildKit is needed');
  });

  it('remove empties both repositories, then removes the stack', async () => {
    run(fakes, 'deploy.sh', ['--stage', STAGE]);
    await fakes.clearCalls();
    const result = run(fakes, 'remove.sh', ['--stage', STAGE, '--region', 'us-east-1']);
    expect(result.status, result.stderr).to.equal(0);
    expect(await steps(fakes)).to.deep.equal([
      `aws ecr batch-delete-image --repository-name ordersync-${STAGE}/receiver --region us-east-1 --image-ids [{"imageTag": "old"}]`,
      `aws ecr batch-delete-image --repository-name ordersync-${STAGE}/processor --region us-east-1 --image-ids [{"imageTag": "old"}]`,
      `sls remove --stage ${STAGE} --region us-east-1`,
    ]);
  });

  it('remove says so when there is nothing to remove', async () => {
    const result = run(fakes, 'remove.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`there is no repository ordersync-${STAGE}/receiver: nothing to empty`);
    expect(result.stdout).to.include(`there is no stack ordersync-${STAGE}: nothing to remove`);
    expect(await steps(fakes)).to.deep.equal([]);
  });

  it('remove stops when AWS cannot be asked about a repository, rather than calling it missing', async () => {
    run(fakes, 'deploy.sh', ['--stage', STAGE]);
    await fakes.clearCalls();
    await fakes.failCall('ecr', 'describe-repositories', 'An error occurred (ExpiredTokenException) when calling the DescribeRepositories operation: The security token included in the request is expired');
    const result = run(fakes, 'remove.sh', ['--stage', STAGE]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('ExpiredTokenException');
    expect(result.stdout).not.to.include('there is no repository');
    expect(await steps(fakes)).to.deep.equal([]);
  });

  it('logs shows the Lambda through sls logs and tells how to tail the ECS log groups', async () => {
    const result = run(fakes, 'logs.sh', ['--stage', STAGE]);
    expect(result.status, result.stderr).to.equal(0);
    expect(await fakes.calls()).to.deep.equal([`sls logs --function processOrder --stage ${STAGE} --region us-east-1 --startTime 10m`]);
    expect(result.stderr).to.include(`aws logs tail /ecs/ordersync-${STAGE} --region us-east-1 --log-stream-name-prefix receiver/ --follow`);
  });

  it('logs follows a container component with aws logs tail', async () => {
    const result = run(fakes, 'logs.sh', ['--stage', STAGE, 'processor', '--tail']);
    expect(result.status, result.stderr).to.equal(0);
    expect(await fakes.calls()).to.deep.equal([
      `aws logs tail /ecs/ordersync-${STAGE} --region us-east-1 --log-stream-name-prefix processor/ --follow`,
    ]);
  });
});
