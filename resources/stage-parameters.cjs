'use strict';

/**
 * The stage parameters that need checking or converting before they go into the template, checked
 * with plain messages: the ones CloudFormation reads as numbers (as numbers), the task counts of the
 * two ECS services derived from them, and the availability zones. serverless.yml takes the whole
 * object with ${file(./resources/stage-parameters.cjs)} into custom.stageParams.
 *
 * Why a file and not ${param:...} in place: a `--param NAME=VALUE` from the command line is always
 * a string, and the framework puts it into resource properties as it is ("0", not 0). CloudFormation
 * on AWS happens to convert such strings; other implementations of its API (moto, which the deploy
 * rehearsal runs) do not, and a typo ("1O") would only fail deep inside a stack update. Here every
 * such value is a number before the template is written, or the command stops with a plain message.
 *
 * Booleans (the orders table's point-in-time recovery and retention) likewise: `--param X=false`
 * would otherwise reach the template as the string "false".
 *
 * Task counts: a stage deployed with imageTag=none (the first step of a first deploy, before the
 * images exist) runs no task at all: desired count, minimum and maximum 0, so nothing starts, no
 * autoscaling brings a task up, and the next deploy with a real tag is a real ECS deployment that
 * the deployment circuit breaker watches.
 */

const NO_IMAGE = 'none';

class StageParameterError extends Error {
  constructor(message) {
    super(message);
    // The framework prints the stack of an error from a variable file: keep it to the message.
    this.stack = message;
  }
}

/** Reads a whole number (or any number when `integer` is false) within [min, max]. */
async function number(resolveVariable, name, { min, max = Number.MAX_SAFE_INTEGER, integer = true, why = '' }) {
  const raw = await resolveVariable(`param:${name}`);
  const value = typeof raw === 'number' ? raw : String(raw).trim() === '' ? Number.NaN : Number(raw);
  const kind = integer ? 'a whole number' : 'a number';
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new StageParameterError(`stage parameter ${name} must be ${kind}, ${range} (got "${raw}")${why}`);
  }
  return value;
}

/** Reads true or false: a boolean from params, or the string `--param NAME=true` gives. */
async function boolean(resolveVariable, name) {
  const raw = await resolveVariable(`param:${name}`);
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (text === 'true' || text === 'false') return text === 'true';
  throw new StageParameterError(`stage parameter ${name} must be true or false (got "${raw}")`);
}

/** Target tracking scales on an average over the running tasks: from 0 tasks it has no datapoint. */
const FROM_ZERO =
  ': target tracking averages over the running tasks, so from 0 tasks it has no datapoint and never' +
  ' starts one';

async function taskCounts(resolveVariable, component, runnable, why) {
  const min = await number(resolveVariable, `${component}MinTasks`, { min: 1, why });
  const max = await number(resolveVariable, `${component}MaxTasks`, { min: 1 });
  if (min > max) {
    throw new StageParameterError(
      `stage parameter ${component}MinTasks (${min}) must not be above ${component}MaxTasks (${max})`,
    );
  }
  return runnable ? { desired: min, min, max } : { desired: 0, min: 0, max: 0 };
}

/** An availability zone ID (use1-az1) rather than a name (us-east-1a). */
const ZONE_ID = /^[a-z]{2,4}[0-9]+-az[0-9]+$/;
const ZONE_NAME = /^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$/;
const NO_VALUE = { Ref: 'AWS::NoValue' };

/**
 * The two zones the subnets go in, as the subnets' AvailabilityZone / AvailabilityZoneId pair.
 * `auto`: the region's first two zones. Otherwise two zone names or two zone IDs, comma-separated:
 * in some regions not every zone has Fargate capacity or takes a load balancer, and a zone name
 * means a different zone in each account, so such a zone is best avoided by its ID.
 */
async function availabilityZones(resolveVariable) {
  const raw = String(await resolveVariable('param:availabilityZones')).trim();
  if (raw === 'auto') {
    return [0, 1].map((index) => ({ name: { 'Fn::Select': [index, { 'Fn::GetAZs': '' }] }, id: NO_VALUE }));
  }
  const zones = raw.split(',').map((zone) => zone.trim());
  const byId = zones.every((zone) => ZONE_ID.test(zone));
  if (zones.length !== 2 || zones[0] === zones[1] || !(byId || zones.every((zone) => ZONE_NAME.test(zone)))) {
    throw new StageParameterError(
      'stage parameter availabilityZones must be auto, two zone names (us-east-1a,us-east-1b) or two' +
        ` zone IDs (use1-az1,use1-az2), different, comma-separated (got "${raw}");` +
        ' aws ec2 describe-availability-zones lists a region\'s zones',
    );
  }
  return zones.map((zone) => (byId ? { name: NO_VALUE, id: zone } : { name: zone, id: NO_VALUE }));
}

/**
 * Reserved concurrency: `none` leaves it unset (the function shares the account's limit), or at
 * most this many environments at once. AWS keeps 100 of the account's default 1000 unreserved.
 */
async function reservedConcurrency(resolveVariable) {
  const raw = String(await resolveVariable('param:lambdaReservedConcurrency')).trim();
  if (raw === 'none') return NO_VALUE;
  return number(resolveVariable, 'lambdaReservedConcurrency', {
    min: 1,
    max: 900,
    why: ' or none; AWS keeps 100 of the account\'s 1000 unreserved',
  });
}

module.exports = async ({ resolveVariable }) => {
  const runnable = (await resolveVariable('param:imageTag')) !== NO_IMAGE;
  return {
    receiverTasks: await taskCounts(resolveVariable, 'receiver', runnable, FROM_ZERO),
    processorTasks: await taskCounts(
      resolveVariable,
      'processor',
      runnable,
      `${FROM_ZERO} (processorMode=lambda makes a stage without the processor)`,
    ),
    receiverCpuTarget: await number(resolveVariable, 'receiverCpuTarget', { min: 1, max: 100, integer: false }),
    processorBacklogPerTask: await number(resolveVariable, 'processorBacklogPerTask', { min: 1, integer: false }),
    oldestOrderAlarmSeconds: await number(resolveVariable, 'oldestOrderAlarmSeconds', { min: 60 }),
    availabilityZones: await availabilityZones(resolveVariable),
    lambdaReservedConcurrency: await reservedConcurrency(resolveVariable),
    ordersTablePointInTimeRecovery: await boolean(resolveVariable, 'ordersTablePointInTimeRecovery'),
    // The orders table's DeletionPolicy and UpdateReplacePolicy (resources/orders-table.yml).
    ordersTableDeletionPolicy: (await boolean(resolveVariable, 'ordersTableRetainOnRemove')) ? 'Retain' : 'Delete',
  };
};
