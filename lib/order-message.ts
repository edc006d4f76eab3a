import type { MessageAttributeValue as SnsAttributeValue } from '@aws-sdk/client-sns';
import type { Message as SqsMessage } from '@aws-sdk/client-sqs';
import type { SNSEventRecord, SNSMessageAttributes } from 'aws-lambda';
import { MalformedMessageError } from './errors.ts';
import { MESSAGE_ATTRIBUTE_ACCEPTED_AT, MESSAGE_ATTRIBUTE_REQUEST_ID } from './messaging-settings.ts';

/**
 * How an order travels after the receiver accepted it: the order JSON as the message body, the
 * request id and the acceptance time as message attributes. SQS gets it raw (raw message
 * delivery) or wrapped in an SNS envelope; the Lambda gets it as an SNS event record.
 */
export interface OrderMessage {
  payload: unknown;
  requestId: string;
  acceptedAt: number | undefined;
}

export function orderMessageAttributes(requestId: string, acceptedAt: number): Record<string, SnsAttributeValue> {
  return {
    [MESSAGE_ATTRIBUTE_REQUEST_ID]: { DataType: 'String', StringValue: requestId },
    [MESSAGE_ATTRIBUTE_ACCEPTED_AT]: { DataType: 'Number', StringValue: String(acceptedAt) },
  };
}

interface SnsEnvelope {
  Type: 'Notification';
  MessageId: string;
  TopicArn: string;
  Message: string;
  MessageAttributes?: SNSMessageAttributes;
}

function isSnsEnvelope(value: unknown): value is SnsEnvelope {
  const candidate = value as Partial<SnsEnvelope> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.Type === 'Notification' &&
    typeof candidate.Message === 'string' &&
    typeof candidate.TopicArn === 'string'
  );
}

function parseJson(text: string, what: string, messageId: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(`${what} is not JSON`, messageId, { cause: error });
  }
}

function parseAcceptedAt(value: string | undefined): number | undefined {
  const number = Number(value);
  return value !== undefined && Number.isFinite(number) ? number : undefined;
}

/** Decodes an SNS event record, as the Lambda receives it. */
export function decodeSnsRecord(record: SNSEventRecord): OrderMessage {
  return fromEnvelope(record.Sns, record.Sns.MessageId);
}

function fromEnvelope(
  envelope: Pick<SnsEnvelope, 'Message' | 'MessageAttributes'>,
  messageId: string | undefined,
): OrderMessage {
  const attributes = envelope.MessageAttributes ?? {};
  return {
    payload: parseJson(envelope.Message, 'SNS message', messageId),
    requestId: attributes[MESSAGE_ATTRIBUTE_REQUEST_ID]?.Value ?? messageId ?? 'unknown',
    acceptedAt: parseAcceptedAt(attributes[MESSAGE_ATTRIBUTE_ACCEPTED_AT]?.Value),
  };
}

/** Decodes an SQS message whose body is either the raw order or an SNS envelope around it. */
export function decodeSqsMessage(message: SqsMessage): OrderMessage {
  if (message.Body === undefined) throw new MalformedMessageError('SQS message has no body', message.MessageId);
  const body = parseJson(message.Body, 'SQS message body', message.MessageId);
  if (isSnsEnvelope(body)) return fromEnvelope(body, body.MessageId);
  const attributes = message.MessageAttributes ?? {};
  return {
    payload: body,
    requestId: attributes[MESSAGE_ATTRIBUTE_REQUEST_ID]?.StringValue ?? message.MessageId ?? 'unknown',
    acceptedAt: parseAcceptedAt(attributes[MESSAGE_ATTRIBUTE_ACCEPTED_AT]?.StringValue),
  };
}

/** Order and request ids of a message for log lines, or nothing if it cannot be decoded. */
export function describeOrderMessage(decode: () => OrderMessage): { order_id?: string; request_id?: string } {
  try {
    const { payload, requestId } = decode();
    const orderId = (payload as { order_id?: unknown } | null)?.order_id;
    return { request_id: requestId, ...(typeof orderId === 'string' ? { order_id: orderId } : {}) };
  } catch {
    return {};
  }
}
