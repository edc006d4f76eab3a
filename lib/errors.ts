/** One error hierarchy for ordersync. Every error has a stable `code` for logs and HTTP bodies. */
export class OrdersyncError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `items.0.quantity`; `(root)` for the whole body. */
  field: string;
  message: string;
}

/** The payload is not a valid order. Not worth retrying: the same bytes fail the same way. */
export class InvalidOrderError extends OrdersyncError {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[]) {
    const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
    super('invalid_order', `invalid order: ${summary}`);
    this.issues = issues;
  }
}

/** A queue or topic message that cannot be decoded into an order payload. */
export class MalformedMessageError extends OrdersyncError {
  readonly messageId: string | undefined;

  constructor(message: string, messageId?: string, options?: { cause?: unknown }) {
    super('malformed_message', message, options);
    this.messageId = messageId;
  }
}

/** Configuration read at start-up is missing or invalid. The message says which variable and why. */
export class ConfigError extends OrdersyncError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

/** SNS did not take the message: the order was not accepted. */
export class PublishError extends OrdersyncError {
  readonly orderId: string;

  constructor(orderId: string, options?: { cause?: unknown }) {
    super('publish_failed', `order ${orderId} could not be published`, options);
    this.orderId = orderId;
  }
}

/** A short, safe description of any thrown value, for logs. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof OrdersyncError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'unknown', message: String(error) };
}
