import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import { loadLambdaConfig } from '../../lib/config.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { buildLambdaBundle, localLambdaBundle } from '../../local/lambda-runtime/lambda-bundle.ts';
import { ROOT } from '../../scripts/package-stack.ts';
import {
  allModes,
  getAtt,
  ofType,
  packaged,
  packagedWith,
  packageError,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  resource,
  statementsOf,
  STAGE,
  type CloudFormationTemplate,
  type PackagedStack,
} from './stacks.ts';
import { readZip } from './zip.ts';

describe('template: Lambda processOrder', function () {
  let stacks: PackagedStack[];
  let lambda: PackagedStack;
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
    lambda = await packaged('lambda');
    template = lambda.template;
  });

  it('writes its platform lines as text, the format the local invoker writes and the cold-start query reads', () => {
    expect(props(template, 'ProcessOrderLambdaFunction').LoggingConfig).to.deep.equal({ LogFormat: 'Text' });
  });

  it('has the memory and timeout the local stack gives its environments (resources/messaging.json), and no reserved concurrency by default', () => {
    const fn = props(template, 'ProcessOrderLambdaFunction');
    expect(fn).to.include({ MemorySize: messagingSettings.lambda.memorySizeMb, Timeout: messagingSettings.lambda.timeoutSeconds });
    expect(fn.ReservedConcurrentExecutions).to.deep.equal({ Ref: 'AWS::NoValue' });
  });

  it('takes a reserved concurrency from the stage parameter lambdaReservedConcurrency, as a number, and refuses one AWS would', async () => {
    const { template: reserved } = await packagedWith({ lambdaReservedConcurrency: '20' });
    expect(props(reserved, 'ProcessOrderLambdaFunction').ReservedConcurrentExecutions).to.equal(20);
    expect(await packageError({ lambdaReservedConcurrency: '950' })).to.contain(
      'stage parameter lambdaReservedConcurrency must be a whole number, from 1 to 900 (got "950") or none',
    );
  });

  it('runs the handler on nodejs24.x', () => {
    const fn = props(template, 'ProcessOrderLambdaFunction');
    expect(fn).to.include({ Runtime: 'nodejs24.x', Handler: 'handlers/process-order.handler', FunctionName: `ordersync-${STAGE}-processOrder` });
  });

  it('gets the settings it reads, with source maps on, and a timeout above the processing time', () => {
    const fn = props(template, 'ProcessOrderLambdaFunction');
    expect(Object.keys(fn.Environment.Variables).sort()).to.deep.equal(['LOG_LEVEL', 'NODE_OPTIONS', 'ORDERS_TABLE_NAME', 'PROCESSING_TIME_MS']);
    expect(fn.Environment.Variables.NODE_OPTIONS).to.include('--enable-source-maps');
    expect(fn.Timeout * 1000).to.be.greaterThan(2 * Number(fn.Environment.Variables.PROCESSING_TIME_MS));
  });

  it('gets the orders table as ORDERS_TABLE_NAME in every mode, and its configuration is valid with it', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      const variables = props(modeTemplate, 'ProcessOrderLambdaFunction').Environment.Variables as Record<string, unknown>;
      expect(variables.ORDERS_TABLE_NAME, mode).to.deep.equal(ref('OrdersTable'));
      // What the function sees on AWS: the Ref resolved to the table's name; AWS_REGION is Lambda's own.
      const tableName = props(modeTemplate, 'OrdersTable').TableName as string;
      const env = Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [name, JSON.stringify(value) === JSON.stringify(ref('OrdersTable')) ? tableName : String(value)]),
      );
      expect(loadLambdaConfig({ ...env, AWS_REGION: 'us-east-1' }).ordersTableName, mode).to.equal(`ordersync-${STAGE}-orders`);
    }
  });

  it('is triggered by the orders topic (lambda, both)', () => {
    for (const { template: modeTemplate, mode } of stacks.filter((stack) => stack.mode !== 'ecs')) {
      const subscriptions = ofType(modeTemplate, 'AWS::SNS::Subscription').filter(([, found]) => found.Protocol === 'lambda');
      expect(subscriptions, mode).to.have.length(1);
      expect(subscriptions[0]![1]).to.deep.include({ TopicArn: ref('OrdersTopic'), Endpoint: getAtt('ProcessOrderLambdaFunction', 'Arn') });
      const permissions = ofType(modeTemplate, 'AWS::Lambda::Permission').map(([, permission]) => permission);
      expect(permissions).to.deep.equal([
        {
          FunctionName: getAtt('ProcessOrderLambdaFunction', 'Arn'),
          Action: 'lambda:InvokeFunction',
          Principal: 'sns.amazonaws.com',
          SourceArn: ref('OrdersTopic'),
        },
      ]);
    }
  });

  it('keeps an order that failed every retry in the on-failure destination', () => {
    for (const { template: modeTemplate } of stacks) {
      const config = props(modeTemplate, 'ProcessOrderLambdaEvConf');
      expect(config.FunctionName).to.deep.equal(ref('ProcessOrderLambdaFunction'));
      expect(config.MaximumRetryAttempts).to.equal(messagingSettings.lambda.maximumRetryAttempts);
      expect(config.DestinationConfig).to.deep.equal({ OnFailure: { Destination: getAtt('LambdaFailureQueue', 'Arn') } });
    }
  });

  it('has a role of its own: its log group, the failure queue and its claims in the orders table, nothing else', () => {
    const role = (props(template, 'ProcessOrderLambdaFunction').Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(role).to.equal('ProcessOrderIamRoleLambdaExecution');
    const statements = statementsOf(template, role);
    expect(statements).to.have.length(3);
    expect(statements[0]?.actions).to.deep.equal(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(JSON.stringify(statements[0]?.resource)).to.include(`log-group:/aws/lambda/ordersync-${STAGE}-processOrder:*:*`);
    expect(statements[1]).to.deep.equal({ actions: ['sqs:SendMessage'], resource: getAtt('LambdaFailureQueue', 'Arn') });
    // What lib/order-records.ts sends for a path (tests/template/iam.test.ts checks it against the code).
    expect(statements[2]).to.deep.equal({
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resource: getAtt('OrdersTable', 'Arn'),
    });
  });

  it('leaves no shared Lambda role behind', () => {
    for (const { template: modeTemplate } of stacks) {
      const lambdaRoles = ofType(modeTemplate, 'AWS::IAM::Role').filter(([, role]) =>
        JSON.stringify(role.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
      );
      expect(lambdaRoles.map(([id]) => id)).to.deep.equal(['ProcessOrderIamRoleLambdaExecution']);
    }
  });

  it('keeps its logs for a limited time', () => {
    expect(props(template, 'ProcessOrderLogGroup')).to.deep.include({ LogGroupName: `/aws/lambda/ordersync-${STAGE}-processOrder`, RetentionInDays: 14 });
    expect(resource(template, 'ProcessOrderLambdaFunction').DependsOn).to.include('ProcessOrderLogGroup');
  });

  it('is bundled by esbuild into one ES module with its source map, importing the AWS SDK from the runtime and bundling none of it', () => {
    const files = readZip(join(lambda.dir, 'ordersync.zip'));
    expect([...files.keys()].sort()).to.deep.equal(['handlers/process-order.mjs', 'handlers/process-order.mjs.map']);
    const bundle = files.get('handlers/process-order.mjs')!.toString('utf8');
    expect(bundle).to.match(/export ?\{/).and.to.include('sourceMappingURL=process-order.mjs.map');
    // The runtime's AWS SDK v3 (the DynamoDB client of the orders table) is external: "@aws-sdk/"
    // appears only as the module an import names, and none of its code is in the bundle.
    expect(bundle.replace(/from ?["']@aws-sdk\/[a-z0-9-]+["']/g, '')).not.to.match(/@aws-sdk|node_modules\/@smithy/);
    const map = JSON.parse(files.get('handlers/process-order.mjs.map')!.toString('utf8')) as { sources: string[] };
    expect(map.sources.filter((source) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(source))).to.deep.equal([]);
    expect(map.sources.some((source) => source.endsWith('handlers/process-order.ts'))).to.equal(true);
  });

  it('ships minified (with its source map), as one build definition makes it for sls package and npm run bench alike', async function () {
    this.timeout(30_000);
    const files = readZip(join(lambda.dir, 'ordersync.zip'));
    const shipped = files.get('handlers/process-order.mjs')!;
    expect(shipped.length, 'bytes of the shipped bundle').to.be.below(150 * 1024);
    expect(shipped.toString('utf8').split('\n').length, 'lines of a minified bundle').to.be.below(50);

    const dir = await mkdtemp(join(tmpdir(), 'ordersync-lambda-bundle-'));
    try {
      const { outfile } = await buildLambdaBundle(dir);
      // What npm run bench measures and the local stack runs is byte for byte what the zip holds.
      expect((await readFile(outfile)).equals(shipped), 'the bench bundle equals the shipped one').to.equal(true);
      const local = await localLambdaBundle();
      expect((await readFile(local.outfile)).equals(shipped), 'the local stack runs the shipped bundle').to.equal(true);
      // The source maps map the same code to the same places; only the paths to the sources differ,
      // each relative to where its map was written.
      type SourceMap = { mappings: string; names: string[]; sources: string[] };
      const benchMap = JSON.parse(await readFile(`${outfile}.map`, 'utf8')) as SourceMap;
      const shippedMap = JSON.parse(files.get('handlers/process-order.mjs.map')!.toString('utf8')) as SourceMap;
      expect(benchMap.mappings).to.equal(shippedMap.mappings);
      expect(benchMap.names).to.deep.equal(shippedMap.names);
      // serverless-esbuild writes into .esbuild/.build/handlers of the project, the bench into a temporary folder.
      const fromRoot = (folder: string) => (source: string) => relative(ROOT, resolve(folder, source));
      expect(benchMap.sources.map(fromRoot(join(dir, 'handlers')))).to.deep.equal(
        shippedMap.sources.map(fromRoot(join(ROOT, '.esbuild', '.build', 'handlers'))),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
