import { expect } from 'chai';
import { lintTemplate } from '../../scripts/lint-cfn.ts';
import { requirePythonTool } from '../support/python-tools.ts';
import { allModes, PACKAGE_TIMEOUT_MS, type PackagedStack } from './stacks.ts';

/**
 * Every suppression of a cfn-lint rule in the templates, with the reason written beside it in
 * serverless.yml (resources.extensions). A new one has to be added here, with its reason there.
 */
const SUPPRESSED = { ProcessOrderLambdaFunction: ['W3005'] };

describe('template: cfn-lint', function () {
  let stacks: PackagedStack[];

  before(async function () {
    requirePythonTool(this, 'cfn-lint');
    this.timeout(PACKAGE_TIMEOUT_MS);
    stacks = await allModes();
  });

  for (const mode of ['ecs', 'lambda', 'both'] as const) {
    it(`finds no error and no warning in the ${mode} template`, function () {
      this.timeout(60_000);
      const stack = stacks.find((found) => found.mode === mode)!;
      const { ok, output } = lintTemplate(stack.templatePath);
      expect(output).to.equal('');
      expect(ok).to.equal(true);
    });
  }

  it('suppresses only the documented rules', () => {
    for (const { template, mode } of stacks) {
      const suppressed = Object.fromEntries(
        Object.entries(template.Resources)
          .filter(([, resource]) => resource.Metadata?.['cfn-lint'] !== undefined)
          .map(([id, resource]) => [id, (resource.Metadata?.['cfn-lint'] as { config: { ignore_checks: string[] } }).config.ignore_checks]),
      );
      expect(suppressed, mode).to.deep.equal(SUPPRESSED);
    }
  });
});
