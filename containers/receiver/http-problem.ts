import { OrdersyncError, type FieldIssue } from '../../lib/errors.ts';

/**
 * An error the receiver answers with: status, stable code, a message safe to show, optional
 * field details and headers. Everything else becomes a 500 with a generic message.
 */
export class HttpProblem extends OrdersyncError {
  readonly status: number;
  readonly details: FieldIssue[] | undefined;
  readonly headers: Record<string, string>;
  /** Koa's convention: the message may be shown to the client. */
  readonly expose = true;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: FieldIssue[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, { cause: extra.cause });
    this.status = status;
    this.details = extra.details;
    this.headers = extra.headers ?? {};
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: FieldIssue[] };
}

export function errorBody(problem: HttpProblem): ErrorBody {
  return {
    error: {
      code: problem.code,
      message: problem.message,
      ...(problem.details ? { details: problem.details } : {}),
    },
  };
}

/**
 * The client closed the connection before its request was read whole: its doing, not a server
 * fault. Nobody is left to answer; the receiver logs it (http.client_aborted) and moves on.
 */
export class ClientAbortedError extends OrdersyncError {
  readonly receivedBytes: number;

  constructor(receivedBytes: number, options?: { cause?: unknown }) {
    super('client_aborted', `the client closed the connection after ${receivedBytes} bytes of the body`, options);
    this.receivedBytes = receivedBytes;
  }
}
