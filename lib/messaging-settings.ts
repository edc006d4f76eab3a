import settings from '../resources/messaging.json' with { type: 'json' };

/** The messaging resources' settings, shared with serverless.yml (resources/messaging.json). */
export const messagingSettings = settings;

export const MESSAGE_ATTRIBUTE_REQUEST_ID = settings.messageAttributes.requestId;
export const MESSAGE_ATTRIBUTE_ACCEPTED_AT = settings.messageAttributes.acceptedAt;

export interface ResourceNames {
  topic: string;
  ordersQueue: string;
  ordersDeadLetterQueue: string;
  lambdaFailureQueue: string;
}

/** The prefix of every physical resource name of a stage, `<service>-<stage>`, after checking the stage. */
export function stagePrefix(stage: string): string {
  if (!/^[a-zA-Z0-9-]{1,20}$/.test(stage)) {
    throw new Error(`stage must be 1 to 20 letters, digits or hyphens (got "${stage}")`);
  }
  return `${settings.service}-${stage}`;
}

/** Physical resource names for a stage: `<service>-<stage>-<name>`, so stages never collide. */
export function resourceNames(stage: string): ResourceNames {
  const prefix = stagePrefix(stage);
  return {
    topic: `${prefix}-${settings.topic.name}`,
    ordersQueue: `${prefix}-${settings.ordersQueue.name}`,
    ordersDeadLetterQueue: `${prefix}-${settings.ordersDeadLetterQueue.name}`,
    lambdaFailureQueue: `${prefix}-${settings.lambdaFailureQueue.name}`,
  };
}
