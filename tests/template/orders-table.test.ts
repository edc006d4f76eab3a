import { expect } from 'chai';
import tableSettings from '../../resources/orders-table.json' with { type: 'json' };
import {
  allModes,
  packageError,
  packaged,
  packagedStage,
  packagedWith,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  resource,
  STAGE,
  type CloudFormationTemplate,
  type PackagedStack,
} from './stacks.ts';

/**
 * The orders table (issue 12, resources/orders-table.yml): the name, keys, TTL attribute and
 * billing mode of resources/orders-table.json, which the local emulator creates the table from
 * too; encrypted; point-in-time recovery and retention on removal for prod only.
 */
const table = (template: CloudFormationTemplate) => props(template, 'OrdersTable');

describe('template: the orders table (AWS::DynamoDB::Table)', function () {
  let stacks: PackagedStack[];
  let dev: CloudFormationTemplate;
  let prod: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
    dev = (await packaged('ecs')).template;
    prod = (await packagedStage('prod')).template;
  });

  it('is in every processor mode, named <service>-<stage>-<name> from resources/orders-table.json', () => {
    for (const { template, mode } of stacks) {
      expect(resource(template, 'OrdersTable').Type, mode).to.equal('AWS::DynamoDB::Table');
      expect(table(template).TableName, mode).to.equal(`ordersync-${STAGE}-${tableSettings.name}`);
    }
    expect(table(prod).TableName).to.equal(`ordersync-prod-${tableSettings.name}`);
  });

  it('has the partition and sort keys of the JSON, and no other attribute definition', () => {
    const { partitionKey, sortKey } = tableSettings;
    expect(partitionKey).to.deep.equal({ name: 'order_id', type: 'S' });
    expect(sortKey).to.deep.equal({ name: 'record', type: 'S' });
    expect(table(dev).KeySchema).to.deep.equal([
      { AttributeName: partitionKey.name, KeyType: 'HASH' },
      { AttributeName: sortKey.name, KeyType: 'RANGE' },
    ]);
    expect(table(dev).AttributeDefinitions).to.deep.equal([
      { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
      { AttributeName: sortKey.name, AttributeType: sortKey.type },
    ]);
    expect(table(dev)).not.to.have.any.keys('GlobalSecondaryIndexes', 'LocalSecondaryIndexes');
  });

  it('is on demand: no capacity to provision', () => {
    expect(tableSettings.billingMode).to.equal('PAY_PER_REQUEST');
    expect(table(dev).BillingMode).to.equal('PAY_PER_REQUEST');
    expect(table(dev)).not.to.have.any.keys('ProvisionedThroughput');
  });

  it('expires records with TTL on the expires_at attribute of the JSON', () => {
    expect(tableSettings.expiresAtAttribute).to.equal('expires_at');
    expect(table(dev).TimeToLiveSpecification).to.deep.equal({ AttributeName: tableSettings.expiresAtAttribute, Enabled: true });
    // Long enough for the last redrive from a dead-letter queue (14 days) to still find the record.
    expect(tableSettings.retentionDays).to.be.a('number').and.to.be.at.least(15);
  });

  it('is encrypted at rest with the AWS managed key (SSEEnabled, no key of its own)', () => {
    for (const template of [dev, prod]) {
      expect(table(template).SSESpecification).to.deep.equal({ SSEEnabled: true });
    }
  });

  it('has point-in-time recovery on for prod and off for dev, as booleans', () => {
    expect(table(prod).PointInTimeRecoverySpecification).to.deep.equal({ PointInTimeRecoveryEnabled: true });
    expect(table(dev).PointInTimeRecoverySpecification).to.deep.equal({ PointInTimeRecoveryEnabled: false });
  });

  it('is deleted with a dev stack (npm run remove) and retained when a prod stack is removed or replaces it', () => {
    expect(resource(dev, 'OrdersTable')).to.include({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    expect(resource(prod, 'OrdersTable')).to.include({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('takes the stage parameters from the command line as booleans, and refuses anything else', async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    const { template } = await packagedWith({ ordersTablePointInTimeRecovery: 'true', ordersTableRetainOnRemove: 'TRUE' });
    expect(table(template).PointInTimeRecoverySpecification).to.deep.equal({ PointInTimeRecoveryEnabled: true });
    expect(resource(template, 'OrdersTable')).to.include({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const message = await packageError({ ordersTablePointInTimeRecovery: 'yes' });
    expect(message).to.include('stage parameter ordersTablePointInTimeRecovery must be true or false (got "yes")');
  });

  it('is tagged with the project and stage, as provider.tags tag the functions', () => {
    expect(table(dev).Tags).to.deep.equal([
      { Key: 'project', Value: 'ordersync' },
      { Key: 'stage', Value: STAGE },
    ]);
  });

  it('outputs the table name as OrdersTableName', () => {
    for (const { template, mode } of stacks) {
      expect(template.Outputs.OrdersTableName?.Value, mode).to.deep.equal(ref('OrdersTable'));
    }
  });
});
