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

/** The calls that matter for the order, in order: deploys, builds, pushes, deletions, removal. */
async function steps(fakes: FakeTools): Promise<string[]> {
  return (await fakes.calls()).filter((call) => /^(sls|docker (build|push)|aws ecr batch-delete-image)/.test(call));
}

describe('npm run deploy / remove / logs (with stand-ins for aws, docker and sls)', function () {
  this.timeout(30_000);
  let fakes: FakeTools;

  beforeEach(async () => {
    fakes = await createFakeTools(STAGE);
  });

  afterEach(async () => {
    await fakes.cleanup();
  });

  it('first deploy: stack without tasks (repositories), then images, then the services', async () => {
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE, '--param', 'processorMode=both']);
    expect(result.status, result.stderr).to.equal(0);
    const common = `--stage ${STAGE} --region us-east-1 --param processorMode=both`;
    expect(await steps(fakes)).to.deep.equal([
      `sls deploy ${common} --param imageTag=${TAG} --param receiverMinTasks=0 --param processorMinTasks=0`,
      `docker build --platform linux/amd64 -f containers/receiver/Dockerfile -t ${repo('receiver')}:${TAG} .`,
      `docker push ${repo('receiver')}:${TAG}`,
      `docker build --platform linux/amd64 -f containers/processor/Dockerfile -t ${repo('processor')}:${TAG} .`,
      `docker push ${repo('processor')}:${TAG}`,
      `sls deploy ${common} --param imageTag=${TAG}`,
    ]);
    expect(await fakes.calls()).to.include(`docker login --username AWS --password-stdin ${ACCOUNT_REGISTRY}`);
    expect(result.stdout).to.include('deployed: http://ordersync-lb.example');
  });

  it('later deploy: pushes the new commit images and rolls the services with one stack update', async () => {
    run(fakes, 'deploy.sh', ['--stage', STAGE]);
    await fakes.clearCalls();
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE], { IMAGE_TAG: 'fedcba987654' });
    expect(result.status, result.stderr).to.equal(0);
    expect(await steps(fakes)).to.deep.equal([
      `docker build --platform linux/amd64 -f containers/receiver/Dockerfile -t ${repo('receiver')}:fedcba987654 .`,
      `docker push ${repo('receiver')}:fedcba987654`,
      `docker build --platform linux/amd64 -f containers/processor/Dockerfile -t ${repo('processor')}:fedcba987654 .`,
      `docker push ${repo('processor')}:fedcba987654`,
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

  it('stops at a stack left by a failed first deploy, saying what to do', async () => {
    await fakes.setStackStatus('ROLLBACK_COMPLETE');
    const result = run(fakes, 'deploy.sh', ['--stage', STAGE]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include(`npm run remove -- --stage ${STAGE}`);
    expect(await steps(fakes)).to.deep.equal([]);
  });

  it('refuses a stage that cannot name an ECR repository', () => {
    const result = run(fakes, 'deploy.sh', ['--stage', 'Prod_1']);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('stage must be 1 to 20 lower-case letters, digits or hyphens (got "Prod_1")');
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
