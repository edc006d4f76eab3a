import { expect } from 'chai';
import { ofType, packageError, packagedWith, PACKAGE_TIMEOUT_MS, props, type CloudFormationTemplate } from './stacks.ts';

/**
 * Stage parameters given on the command line (`--param NAME=VALUE`, always strings) reach the
 * template checked and with the types CloudFormation expects (resources/stage-parameters.cjs): task
 * counts and scaling figures as numbers, no task at all while imageTag is none, a plain message
 * for a value that cannot work, and the availability zones a user picks.
 */
const NO_VALUE = { Ref: 'AWS::NoValue' };

function taskCounts(template: CloudFormationTemplate) {
  const target = (service: string) =>
    ofType(template, 'AWS::ApplicationAutoScaling::ScalableTarget').find(([, found]) =>
      JSON.stringify(found.ResourceId).includes(`"${service}","Name"`),
    )![1];
  return Object.fromEntries(
    ['Receiver', 'Processor'].map((component) => {
      const scalable = target(`${component}Service`);
      return [
        component.toLowerCase(),
        { desired: props(template, `${component}Service`).DesiredCount, min: scalable.MinCapacity, max: scalable.MaxCapacity },
      ];
    }),
  );
}

describe('template: stage parameters from the command line', function () {
  this.timeout(PACKAGE_TIMEOUT_MS);

  it('puts numbers into the template as numbers, not as the strings the command line gives', async () => {
    const { template } = await packagedWith({
      receiverMinTasks: '2',
      receiverMaxTasks: '6',
      processorMinTasks: '3',
      processorMaxTasks: '8',
      receiverCpuTarget: '70',
      processorBacklogPerTask: '500',
      oldestOrderAlarmSeconds: '600',
    });
    expect(taskCounts(template)).to.deep.equal({
      receiver: { desired: 2, min: 2, max: 6 },
      processor: { desired: 3, min: 3, max: 8 },
    });
    const targetValues = ofType(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(
      ([, policy]) => policy.TargetTrackingScalingPolicyConfiguration.TargetValue,
    );
    expect(targetValues.sort()).to.deep.equal([500, 70]);
    expect(props(template, 'OldestOrderAlarm').Threshold).to.equal(600);
  });

  it('runs no task while imageTag is none: nothing to start, nothing for autoscaling to start', async () => {
    const { template } = await packagedWith({ imageTag: 'none', receiverMinTasks: '2', processorMaxTasks: '5' });
    expect(taskCounts(template)).to.deep.equal({
      receiver: { desired: 0, min: 0, max: 0 },
      processor: { desired: 0, min: 0, max: 0 },
    });
  });

  it('refuses a minimum of 0 tasks, which target tracking could never scale out of', async () => {
    const message = await packageError({ processorMinTasks: '0' });
    expect(message).to.include('stage parameter processorMinTasks must be a whole number, at least 1 (got "0")');
    expect(message).to.include('from 0 tasks it has no datapoint and never starts one');
    expect(message).to.include('processorMode=lambda');
    expect(message).not.to.match(/\n\s+at /);
    expect(await packageError({ receiverMinTasks: '0' })).to.include('stage parameter receiverMinTasks must be a whole number, at least 1 (got "0")');
  });

  it('names the parameter of a value that is not a number, or a range that is upside down', async () => {
    expect(await packageError({ receiverMaxTasks: '1O' })).to.include('stage parameter receiverMaxTasks must be a whole number, at least 1 (got "1O")');
    expect(await packageError({ receiverCpuTarget: '150' })).to.include('stage parameter receiverCpuTarget must be a number, from 1 to 100 (got "150")');
    expect(await packageError({ processorMinTasks: '4', processorMaxTasks: '2' })).to.include(
      'stage parameter processorMinTasks (4) must not be above processorMaxTasks (2)',
    );
  });

  it('puts the subnets in the availability zones a user names, by ID or by name', async () => {
    const subnets = ['PublicSubnet1', 'PrivateSubnet1', 'PublicSubnet2', 'PrivateSubnet2'];
    const byId = (await packagedWith({ availabilityZones: 'use1-az1,use1-az4' })).template;
    expect(subnets.map((subnet) => props(byId, subnet).AvailabilityZoneId)).to.deep.equal(['use1-az1', 'use1-az1', 'use1-az4', 'use1-az4']);
    for (const subnet of subnets) expect(props(byId, subnet).AvailabilityZone, subnet).to.deep.equal(NO_VALUE);

    const byName = (await packagedWith({ availabilityZones: 'eu-west-1b, eu-west-1c' })).template;
    expect(subnets.map((subnet) => props(byName, subnet).AvailabilityZone)).to.deep.equal(['eu-west-1b', 'eu-west-1b', 'eu-west-1c', 'eu-west-1c']);
    for (const subnet of subnets) expect(props(byName, subnet).AvailabilityZoneId, subnet).to.deep.equal(NO_VALUE);
  });

  it('refuses zones that are not two different zone names or IDs', async () => {
    for (const zones of ['us-east-1a', 'us-east-1a,us-east-1a', 'us-east-1a,use1-az2', 'a,b,c']) {
      expect(await packageError({ availabilityZones: zones }), zones).to.include(
        `stage parameter availabilityZones must be auto, two zone names (us-east-1a,us-east-1b) or two zone IDs (use1-az1,use1-az2), different, comma-separated (got "${zones}")`,
      );
    }
  });
});
