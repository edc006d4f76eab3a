import { expect } from 'chai';
import {
  allModes,
  asArray,
  getAtt,
  ofType,
  packaged,
  PACKAGE_TIMEOUT_MS,
  props,
  ref,
  resource,
  type CloudFormationTemplate,
  type PackagedStack,
  type Props,
} from './stacks.ts';

const AZ = (index: number) => ({ 'Fn::Select': [index, { 'Fn::GetAZs': '' }] });

function routesOf(template: CloudFormationTemplate, routeTable: string): Props[] {
  return ofType(template, 'AWS::EC2::Route')
    .map(([, route]) => route)
    .filter((route) => JSON.stringify(route.RouteTableId) === JSON.stringify(ref(routeTable)));
}

function subnetsOf(template: CloudFormationTemplate, routeTable: string): unknown[] {
  return ofType(template, 'AWS::EC2::SubnetRouteTableAssociation')
    .filter(([, association]) => JSON.stringify(association.RouteTableId) === JSON.stringify(ref(routeTable)))
    .map(([, association]) => association.SubnetId);
}

describe('template: network', function () {
  let stack: PackagedStack;
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stack = await packaged('ecs');
    template = stack.template;
  });

  it('is one VPC 10.0.0.0/16 with DNS', () => {
    const vpcs = ofType(template, 'AWS::EC2::VPC');
    expect(vpcs).to.have.length(1);
    expect(vpcs[0]?.[1]).to.include({ CidrBlock: '10.0.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true });
  });

  it('has public subnets 10.0.1.0/24 and 10.0.2.0/24 and private 10.0.10.0/24 and 10.0.11.0/24, each pair in two AZs', () => {
    const subnets: Record<string, Props> = Object.fromEntries(ofType(template, 'AWS::EC2::Subnet').map(([, subnet]) => [subnet.CidrBlock, subnet]));
    expect(Object.keys(subnets).sort()).to.deep.equal(['10.0.1.0/24', '10.0.10.0/24', '10.0.11.0/24', '10.0.2.0/24']);
    expect(subnets['10.0.1.0/24']?.AvailabilityZone).to.deep.equal(AZ(0));
    expect(subnets['10.0.2.0/24']?.AvailabilityZone).to.deep.equal(AZ(1));
    expect(subnets['10.0.10.0/24']?.AvailabilityZone).to.deep.equal(AZ(0));
    expect(subnets['10.0.11.0/24']?.AvailabilityZone).to.deep.equal(AZ(1));
    for (const subnet of Object.values(subnets)) expect(subnet.VpcId).to.deep.equal(ref('Vpc'));
    expect(props(template, 'PublicSubnet1').CidrBlock).to.equal('10.0.1.0/24');
    expect(props(template, 'PrivateSubnet2').CidrBlock).to.equal('10.0.11.0/24');
  });

  it('routes the public subnets to an attached internet gateway', () => {
    const [[gateway]] = ofType(template, 'AWS::EC2::InternetGateway') as [[string, Props]];
    const attachment = ofType(template, 'AWS::EC2::VPCGatewayAttachment').map(([, found]) => found);
    expect(attachment).to.deep.equal([{ VpcId: ref('Vpc'), InternetGatewayId: ref(gateway) }]);
    expect(routesOf(template, 'PublicRouteTable')).to.deep.equal([
      { RouteTableId: ref('PublicRouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: ref(gateway) },
    ]);
    expect(subnetsOf(template, 'PublicRouteTable')).to.have.deep.members([ref('PublicSubnet1'), ref('PublicSubnet2')]);
  });

  it('routes the private subnets out through one NAT gateway in a public subnet', () => {
    const nats = ofType(template, 'AWS::EC2::NatGateway');
    expect(nats).to.have.length(1);
    const [natId, nat] = nats[0] as [string, Props];
    expect(nat.SubnetId).to.deep.equal(ref('PublicSubnet1'));
    expect(nat.AllocationId).to.deep.equal(getAtt('NatGatewayIp', 'AllocationId'));
    expect(routesOf(template, 'PrivateRouteTable')).to.deep.equal([
      { RouteTableId: ref('PrivateRouteTable'), DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: ref(natId) },
    ]);
    expect(subnetsOf(template, 'PrivateRouteTable')).to.have.deep.members([ref('PrivateSubnet1'), ref('PrivateSubnet2')]);
  });

  it('reaches DynamoDB from the private subnets through a gateway endpoint, for the tasks\' calls on the orders table only', () => {
    const endpoints = ofType(template, 'AWS::EC2::VPCEndpoint').map(([, endpoint]) => endpoint);
    expect(endpoints).to.have.length(1);
    const [endpoint] = endpoints as [Props];
    expect(endpoint).to.include({ VpcEndpointType: 'Gateway' });
    expect(endpoint.VpcId).to.deep.equal(ref('Vpc'));
    expect(endpoint.ServiceName).to.deep.equal({ 'Fn::Join': ['', ['com.amazonaws.', ref('AWS::Region'), '.dynamodb']] });
    expect(endpoint.RouteTableIds).to.deep.equal([ref('PrivateRouteTable')]);
    const statements = asArray((endpoint.PolicyDocument as { Statement: unknown }).Statement) as Props[];
    expect(statements).to.have.length(1);
    // Its actions, the task roles' own on the table: tests/template/iam.test.ts.
    expect(statements[0]).to.deep.include({ Effect: 'Allow', Principal: '*', Resource: getAtt('OrdersTable', 'Arn') });
  });

  it('assigns no public IPs in any subnet', () => {
    for (const [, subnet] of ofType(template, 'AWS::EC2::Subnet')) expect(subnet.MapPublicIpOnLaunch ?? false).to.equal(false);
  });
});

describe('template: load balancer to receiver', function () {
  let template: CloudFormationTemplate;

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    template = (await packaged('ecs')).template;
  });

  it('has an internet-facing application load balancer in the public subnets', () => {
    const balancers = ofType(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(balancers).to.have.length(1);
    const [, balancer] = balancers[0] as [string, Props];
    expect(balancer).to.include({ Type: 'application', Scheme: 'internet-facing' });
    expect(balancer.Subnets).to.deep.equal([ref('PublicSubnet1'), ref('PublicSubnet2')]);
    expect(balancer.SecurityGroups).to.deep.equal([getAtt('LoadBalancerSecurityGroup', 'GroupId')]);
  });

  it('listens on port 80 and forwards to the receiver target group', () => {
    const listeners = ofType(template, 'AWS::ElasticLoadBalancingV2::Listener');
    expect(listeners).to.have.length(1);
    const [, listener] = listeners[0] as [string, Props];
    expect(listener).to.deep.include({ LoadBalancerArn: ref('LoadBalancer'), Port: 80, Protocol: 'HTTP' });
    expect(listener.DefaultActions).to.deep.equal([{ Type: 'forward', TargetGroupArn: ref('ReceiverTargetGroup') }]);
  });

  it('has an ip target group that health-checks /health on the receiver port', () => {
    const group = props(template, 'ReceiverTargetGroup');
    expect(group).to.deep.include({ TargetType: 'ip', Protocol: 'HTTP', Port: 8080, HealthCheckPath: '/health', VpcId: ref('Vpc') });
    expect(group.Matcher).to.deep.equal({ HttpCode: '200' });
  });

  it('attaches the receiver service to the target group on its container port', () => {
    const service = resource(template, 'ReceiverService');
    expect(service.Properties?.LoadBalancers).to.deep.equal([
      { ContainerName: 'receiver', ContainerPort: 8080, TargetGroupArn: ref('ReceiverTargetGroup') },
    ]);
    expect(asArray(service.DependsOn)).to.include('HttpListener');
    const [container] = props(template, 'ReceiverTask').ContainerDefinitions as Props[];
    expect(container?.Name).to.equal('receiver');
    expect(container?.PortMappings).to.deep.equal([{ ContainerPort: 8080, Protocol: 'tcp' }]);
  });

  it('gives new receiver tasks a health-check grace period', () => {
    expect(props(template, 'ReceiverService').HealthCheckGracePeriodSeconds).to.be.within(30, 300);
  });

  it('outputs the load balancer URL', () => {
    expect(template.Outputs.LoadBalancerUrl?.Value).to.deep.equal({ 'Fn::Sub': 'http://${LoadBalancer.DNSName}' });
  });
});

describe('template: security groups', function () {
  let stacks: PackagedStack[];

  before(async function () {
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
  });

  const ingressRulesOf = (template: CloudFormationTemplate, group: string): Props[] => [
    ...asArray(props(template, group).SecurityGroupIngress as Props[]),
    ...ofType(template, 'AWS::EC2::SecurityGroupIngress')
      .map(([, rule]) => rule)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(getAtt(group, 'GroupId'))),
  ];
  const egressRulesOf = (template: CloudFormationTemplate, group: string): Props[] => [
    ...asArray(props(template, group).SecurityGroupEgress as Props[]),
    ...ofType(template, 'AWS::EC2::SecurityGroupEgress')
      .map(([, rule]) => rule)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(getAtt(group, 'GroupId'))),
  ];

  it('opens the load balancer on port 80 to the internet, and lets it reach only the receiver', () => {
    for (const { template } of stacks) {
      expect(ingressRulesOf(template, 'LoadBalancerSecurityGroup')).to.deep.equal([
        { Description: 'HTTP from anywhere', IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' },
      ]);
      const egress = egressRulesOf(template, 'LoadBalancerSecurityGroup');
      expect(egress).to.have.length(1);
      expect(egress[0]).to.deep.include({ FromPort: 8080, ToPort: 8080, DestinationSecurityGroupId: getAtt('ReceiverSecurityGroup', 'GroupId') });
    }
  });

  it('lets only the load balancer reach the receiver tasks', () => {
    for (const { template } of stacks) {
      const ingress = ingressRulesOf(template, 'ReceiverSecurityGroup');
      expect(ingress).to.have.length(1);
      expect(ingress[0]).to.deep.include({
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: getAtt('LoadBalancerSecurityGroup', 'GroupId'),
      });
      expect(ingress[0]).not.to.have.any.keys('CidrIp', 'CidrIpv6');
    }
  });

  it('replaces the default allow-all egress of every group (egress rules given in the group itself)', () => {
    for (const { template, mode } of stacks) {
      for (const [id, group] of ofType(template, 'AWS::EC2::SecurityGroup')) {
        expect(group.SecurityGroupEgress, `${mode} ${id}`).to.be.an('array').that.is.not.empty;
      }
    }
  });

  it('gives the processor tasks no inbound rule at all', () => {
    for (const { template, mode } of stacks.filter((stack) => stack.mode !== 'lambda')) {
      expect(ingressRulesOf(template, 'ProcessorSecurityGroup'), mode).to.deep.equal([]);
    }
  });

  it('lets tasks out only on HTTPS (AWS APIs through the NAT gateway, DynamoDB through its gateway endpoint)', () => {
    for (const { template, mode } of stacks) {
      const groups = mode === 'lambda' ? ['ReceiverSecurityGroup'] : ['ReceiverSecurityGroup', 'ProcessorSecurityGroup'];
      for (const group of groups) {
        expect(egressRulesOf(template, group).map(({ IpProtocol, FromPort, ToPort }) => [IpProtocol, FromPort, ToPort])).to.deep.equal([
          ['tcp', 443, 443],
        ]);
      }
    }
  });

  it('runs every task in the private subnets without a public IP, in its own group', () => {
    for (const { template } of stacks) {
      for (const [id, service] of ofType(template, 'AWS::ECS::Service')) {
        const network = service.NetworkConfiguration.AwsvpcConfiguration;
        expect(network.Subnets, id).to.deep.equal([ref('PrivateSubnet1'), ref('PrivateSubnet2')]);
        expect(network.AssignPublicIp, id).to.equal('DISABLED');
        expect(network.SecurityGroups, id).to.deep.equal([getAtt(id.replace(/Service$/, 'SecurityGroup'), 'GroupId')]);
      }
    }
  });
});
