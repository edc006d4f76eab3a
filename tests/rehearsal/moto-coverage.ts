import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/package-stack.ts';

/**
 * moto's CloudFormation skips resource types it does not implement (it warns "Tried to parse X
 * but it's not supported" and goes on), so a stack deployed to moto simply lacks them. The
 * rehearsal finds them from the emulator itself (the stack's template minus its resources) and
 * needs, for each, a template test that checks that resource in the packaged template: this list.
 * A type moto skips that is not here fails the rehearsal; so does an entry whose test file does
 * not name what it claims to check.
 */
export interface Coverage {
  /** The template test file (from the repository root). */
  file: string;
  /** Text that file must contain: the type, or the logical id it checks. */
  mentions: string;
  /** What it checks, in a few words. */
  checks: string;
}

export const TEMPLATE_TESTS_FOR_SKIPPED_TYPES: Record<string, Coverage[]> = {
  'AWS::SNS::Subscription': [
    { file: 'tests/template/messaging.test.ts', mentions: "'AWS::SNS::Subscription'", checks: 'the raw SNS → SQS subscription of the orders queue' },
    { file: 'tests/template/lambda.test.ts', mentions: "'AWS::SNS::Subscription'", checks: "the Lambda's SNS trigger" },
  ],
  'AWS::SQS::QueuePolicy': [
    { file: 'tests/template/messaging.test.ts', mentions: 'QueuePolicy', checks: 'the topic may send to the orders queue' },
  ],
  'AWS::ApplicationAutoScaling::ScalableTarget': [
    { file: 'tests/template/services.test.ts', mentions: "'AWS::ApplicationAutoScaling::ScalableTarget'", checks: 'the services’ task ranges' },
  ],
  'AWS::ApplicationAutoScaling::ScalingPolicy': [
    { file: 'tests/template/services.test.ts', mentions: "'AWS::ApplicationAutoScaling::ScalingPolicy'", checks: 'CPU and backlog target tracking' },
  ],
  'AWS::CloudWatch::Alarm': [
    { file: 'tests/template/services.test.ts', mentions: "'AWS::CloudWatch::Alarm'", checks: 'queue depth and oldest-order alarms' },
  ],
  'AWS::Lambda::EventInvokeConfig': [
    { file: 'tests/template/lambda.test.ts', mentions: 'ProcessOrderLambdaEvConf', checks: "the Lambda's retries and on-failure destination" },
  ],
  'AWS::Lambda::Permission': [
    { file: 'tests/template/lambda.test.ts', mentions: "'AWS::Lambda::Permission'", checks: 'SNS may invoke the Lambda' },
  ],
  'AWS::S3::BucketPolicy': [
    { file: 'tests/template/iam.test.ts', mentions: "'AWS::S3::BucketPolicy'", checks: 'the deployment bucket refuses requests without TLS' },
  ],
  'AWS::EC2::SecurityGroupIngress': [
    { file: 'tests/template/network.test.ts', mentions: "'AWS::EC2::SecurityGroupIngress'", checks: 'load balancer → receiver rule' },
  ],
};

/** Problems with the coverage of these skipped types: uncovered, or a claim its file does not back. */
export function coverageProblems(skippedTypes: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const type of skippedTypes) {
    const coverage = TEMPLATE_TESTS_FOR_SKIPPED_TYPES[type];
    if (!coverage || coverage.length === 0) {
      problems.push(`moto skipped ${type}, and no template test is listed for it in tests/rehearsal/moto-coverage.ts: add a test to tests/template/ that checks it, then list it`);
      continue;
    }
    for (const { file, mentions } of coverage) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        problems.push(`${type}: ${file} is listed as its template test but does not exist`);
        continue;
      }
      if (!text.includes(mentions)) problems.push(`${type}: ${file} is listed as its template test but never mentions ${mentions}`);
    }
  }
  return problems;
}

/** "AWS::X (file, file)" for the report line. */
export function describeCoverage(type: string): string {
  const files = (TEMPLATE_TESTS_FOR_SKIPPED_TYPES[type] ?? []).map((coverage) => coverage.file.replace('tests/template/', ''));
  return files.length > 0 ? `${type} (${files.join(', ')})` : `${type} (NO TEMPLATE TEST)`;
}
