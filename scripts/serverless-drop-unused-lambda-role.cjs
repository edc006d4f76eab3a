'use strict';

/**
 * A local Serverless plugin. serverless-iam-roles-per-function gives each function its own role
 * but leaves the framework's shared role (IamRoleLambdaExecution) in the template, unused
 * (the plugin's issues #7 and #30). This removes that role once no other resource refers to it,
 * so the stack holds only roles something assumes. It runs after the per-function roles are
 * made (listed after that plugin in serverless.yml).
 */
const ROLE = 'IamRoleLambdaExecution';

function refersTo(value, logicalId) {
  if (Array.isArray(value)) return value.some((item) => refersTo(item, logicalId));
  if (value === null || typeof value !== 'object') return typeof value === 'string' && value.includes(`\${${logicalId}`);
  if (value.Ref === logicalId) return true;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[0] === logicalId) return true;
  if (typeof getAtt === 'string' && getAtt.split('.')[0] === logicalId) return true;
  return Object.values(value).some((item) => refersTo(item, logicalId));
}

class DropUnusedLambdaRole {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.drop() };
  }

  drop() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (!template.Resources[ROLE]) return;
    const others = Object.entries(template.Resources).filter(([id]) => id !== ROLE);
    const used = others.some(([, resource]) => refersTo(resource, ROLE)) || refersTo(template.Outputs ?? {}, ROLE);
    if (!used) delete template.Resources[ROLE];
  }
}

module.exports = DropUnusedLambdaRole;
