import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';
import {
  allModes,
  asArray,
  getAtt,
  ofType,
  packaged,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  roleStatements,
  statementsOf,
  type CloudFormationTemplate,
  type PackagedStack,
  type PolicyStatement,
} from './stacks.ts';

/**
 * Actions AWS authorizes only on Resource "*" (documented in docs/decisions.md): the ECR
 * registry login every image pull starts with.
 */
const RESOURCE_WILDCARD_ONLY = ['ecr:GetAuthorizationToken'];

function allStatements(template: CloudFormationTemplate): { where: string; statement: PolicyStatement }[] {
  const ofPolicies = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
    ofType(template, type).flatMap(([id, policy]) =>
      asArray(policy.PolicyDocument.Statement as PolicyStatement[]).map((statement) => ({ where: id, statement })),
    ),
  );
  return [...roleStatements(template).map(({ role, statement }) => ({ where: role, statement })), ...ofPolicies];
}

/**
 * The orders table (issue 12): what each component may do on it, on its ARN and nothing else.
 * The receiver writes accepted records in batches (BatchWriteItem) and answers the status
 * resource with one Query; it reads nothing else. The processor and the
 * Lambda send exactly what lib/order-records.ts sends for a path: conditional UpdateItem (the claim
 * and its later changes), conditional PutItem (a claim over an expired record), GetItem (the path's
 * record by its key). No Query: status() is the receiver's.
 */
const ORDERS_TABLE_ARN = getAtt('OrdersTable', 'Arn');
const RECEIVER_TABLE_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:Query'];
const PATH_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const LAMBDA_ROLE = 'ProcessOrderIamRoleLambdaExecution';

/** The DynamoDB commands lib/order-records.ts sends, as IAM actions. */
function orderRecordsActions(): string[] {
  const source = readFileSync(`${ROOT}/lib/order-records.ts`, 'utf8');
  const sent = [...source.matchAll(/new (\w+)Command\(/g)].map((match) => `dynamodb:${match[1]}`);
  return [...new Set(sent)].sort();
}

/** Every statement, in any role or policy, that grants a DynamoDB action. */
function dynamodbStatements(template: CloudFormationTemplate): { where: string; statement: PolicyStatement }[] {
  return allStatements(template).filter(({ statement }) =>
    asArray(statement.Action).some((action) => action.toLowerCase().startsWith('dynamodb:')),
  );
}

const pullAndLog = (repository: string) => [
  { actions: ['ecr:GetAuthorizationToken'], resource: '*' },
  { actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resource: getAtt(repository, 'Arn') },
  { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: getAtt('FargateTasksLogGroup', 'Arn') },
];

describe('template: IAM', function () {
  let stacks: PackagedStack[];
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
    template = (await packaged('both')).template;
  });

  it('grants no wildcard action and no wildcard resource beyond the documented exception', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      const statements = allStatements(modeTemplate);
      expect(statements.length, mode).to.be.greaterThan(5);
      for (const { where, statement } of statements) {
        const label = `${mode} ${where} ${JSON.stringify(statement)}`;
        expect(statement, label).not.to.have.any.keys('NotAction', 'NotResource');
        for (const action of asArray(statement.Action)) expect(action, label).not.to.include('*');
        if (asArray(statement.Resource).includes('*')) {
          expect(asArray(statement.Action), label).to.deep.equal(RESOURCE_WILDCARD_ONLY);
        }
      }
    }
  });

  it('attaches no managed policies (they are broader than what the roles use)', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      for (const [id, role] of ofType(modeTemplate, 'AWS::IAM::Role')) {
        expect(asArray(role.ManagedPolicyArns), `${mode} ${id}`).to.deep.equal([]);
      }
      expect(modeTemplate.Resources, mode).not.to.have.any.keys('FargateIamTaskRole', 'FargateIamExecutionRole');
    }
  });

  it('lets the receiver publish to the orders topic, record and read orders in the orders table, and do nothing else', () => {
    expect(statementsOf(template, 'ReceiverTaskRole')).to.deep.equal([
      { actions: ['sns:Publish'], resource: ref('OrdersTopic') },
      { actions: RECEIVER_TABLE_ACTIONS, resource: ORDERS_TABLE_ARN },
    ]);
    expect(props(template, 'ReceiverTask').TaskRoleArn).to.deep.equal(getAtt('ReceiverTaskRole', 'Arn'));
  });

  it('lets the processor receive, delete, re-time and inspect orders-queue messages, claim orders in the orders table, and do nothing else', () => {
    // DeleteMessageBatch and ChangeMessageVisibilityBatch are authorized by the non-batch actions.
    expect(statementsOf(template, 'ProcessorTaskRole')).to.deep.equal([
      {
        actions: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        resource: getAtt('OrdersQueue', 'Arn'),
      },
      { actions: PATH_TABLE_ACTIONS, resource: ORDERS_TABLE_ARN },
    ]);
    expect(props(template, 'ProcessorTask').TaskRoleArn).to.deep.equal(getAtt('ProcessorTaskRole', 'Arn'));
  });

  it('gives the orders table to the receiver, processor and Lambda roles only, each its own actions on the table ARN alone, in every mode', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      const granted = dynamodbStatements(modeTemplate).map(({ where, statement }) => ({
        where,
        actions: asArray(statement.Action).sort(),
        resource: statement.Resource,
        condition: statement.Condition,
      }));
      const expected = [
        { where: 'ReceiverTaskRole', actions: RECEIVER_TABLE_ACTIONS, resource: ORDERS_TABLE_ARN, condition: undefined },
        ...(mode === 'lambda' ? [] : [{ where: 'ProcessorTaskRole', actions: PATH_TABLE_ACTIONS, resource: ORDERS_TABLE_ARN, condition: undefined }]),
        { where: LAMBDA_ROLE, actions: PATH_TABLE_ACTIONS, resource: ORDERS_TABLE_ARN, condition: undefined },
      ];
      expect(granted, mode).to.have.deep.members(expected);
    }
  });

  it('grants the processor and the Lambda exactly the DynamoDB commands lib/order-records.ts sends, less Query (status(), the receiver\'s)', () => {
    // If the store starts sending another command on a path, this says which role lacks it; if it
    // stops sending one, which role has one too many.
    const pathActions = orderRecordsActions().filter((action) => action !== 'dynamodb:Query');
    for (const role of ['ProcessorTaskRole', LAMBDA_ROLE]) {
      const actions = statementsOf(template, role).flatMap((statement) => statement.actions).filter((action) => action.startsWith('dynamodb:'));
      expect(actions, role).to.deep.equal(pathActions);
    }
  });

  it('admits through the VPC\'s DynamoDB gateway endpoint exactly what the task roles may do on the orders table', () => {
    // The Lambda runs outside the VPC: only the tasks' calls take the endpoint (resources/network.yml).
    const taskActions = ['ReceiverTaskRole', 'ProcessorTaskRole'].flatMap((role) =>
      statementsOf(template, role).filter((statement) => JSON.stringify(statement.resource) === JSON.stringify(ORDERS_TABLE_ARN)).flatMap((statement) => statement.actions),
    );
    const endpoint = props(template, 'OrdersTableGatewayEndpoint') as { PolicyDocument: { Statement: PolicyStatement[] } };
    const admitted = endpoint.PolicyDocument.Statement.flatMap((statement) => {
      expect(statement.Resource).to.deep.equal(ORDERS_TABLE_ARN);
      return asArray(statement.Action);
    });
    expect([...new Set(admitted)].sort()).to.deep.equal([...new Set(taskActions)].sort());
  });

  it('lets each task execution role pull only its own image and write only the ECS log group', () => {
    expect(statementsOf(template, 'ReceiverExecutionRole')).to.deep.equal(pullAndLog('ReceiverRepository'));
    expect(statementsOf(template, 'ProcessorExecutionRole')).to.deep.equal(pullAndLog('ProcessorRepository'));
    expect(props(template, 'ReceiverTask').ExecutionRoleArn).to.deep.equal(getAtt('ReceiverExecutionRole', 'Arn'));
    expect(props(template, 'ProcessorTask').ExecutionRoleArn).to.deep.equal(getAtt('ProcessorExecutionRole', 'Arn'));
  });

  it('lets only ECS tasks of this account assume the task roles', () => {
    for (const role of ['ReceiverTaskRole', 'ReceiverExecutionRole', 'ProcessorTaskRole', 'ProcessorExecutionRole']) {
      expect(props(template, role).AssumeRolePolicyDocument.Statement, role).to.deep.equal([
        {
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
        },
      ]);
    }
  });

  it('opens queues only to the SNS service, for this topic', () => {
    for (const { template: modeTemplate, mode } of stacks) {
      for (const [id, policy] of ofType(modeTemplate, 'AWS::SQS::QueuePolicy')) {
        for (const statement of asArray(policy.PolicyDocument.Statement as PolicyStatement[])) {
          expect(statement.Principal, `${mode} ${id}`).to.deep.equal({ Service: 'sns.amazonaws.com' });
          expect(statement.Condition, `${mode} ${id}`).to.deep.equal({ ArnEquals: { 'aws:SourceArn': ref('OrdersTopic') } });
        }
      }
    }
  });
});

describe('template: the deployment bucket', function () {
  let stacks: PackagedStack[];

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
  });

  it('is encrypted and refuses every request that does not come over TLS', () => {
    for (const { template, mode } of stacks) {
      expect(props(template, 'ServerlessDeploymentBucket').BucketEncryption, mode).to.deep.equal({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      const policies = ofType(template, 'AWS::S3::BucketPolicy');
      expect(policies, mode).to.have.length(1);
      const policy = policies[0]?.[1];
      expect(policy?.Bucket, mode).to.deep.equal(ref('ServerlessDeploymentBucket'));
      expect(policy?.PolicyDocument.Statement, mode).to.deep.equal([
        {
          Action: 's3:*',
          Effect: 'Deny',
          Principal: '*',
          Resource: [
            { 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':s3:::', ref('ServerlessDeploymentBucket'), '/*']] },
            { 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':s3:::', ref('ServerlessDeploymentBucket')]] },
          ],
          Condition: { Bool: { 'aws:SecureTransport': false } },
        },
      ]);
    }
  });
});
