import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that answers every AWS request with one error, as AWS words it, for the
 * rehearsal's "the check itself failed" cases: a service-specific endpoint variable
 * (AWS_ENDPOINT_URL_CLOUDFORMATION, AWS_ENDPOINT_URL_ECR), honoured by the AWS CLI and the SDK,
 * sends that one service here while everything else still goes to moto.
 *
 * Both wire formats the clients use: the query protocol (CloudFormation: form-encoded request,
 * XML <ErrorResponse>) and the JSON protocol (ECR: X-Amz-Target, JSON with __type).
 */
export interface AwsError {
  status: number;
  code: string;
  message: string;
}

export interface SeenRequest {
  /** Action (query protocol) or X-Amz-Target (JSON protocol). */
  operation: string;
  userAgent: string;
}

export interface FakeAws {
  endpoint: string;
  requests: SeenRequest[];
  /** Requests made by an AWS SDK for JavaScript (the framework), not by the AWS CLI. */
  sdkRequests(): SeenRequest[];
  close(): Promise<void>;
}

export const EXPIRED_TOKEN: AwsError = {
  status: 400,
  code: 'ExpiredToken',
  message: 'The security token included in the request is expired',
};

export const ECR_ACCESS_DENIED: AwsError = {
  status: 400,
  code: 'AccessDeniedException',
  message:
    'User: arn:aws:iam::123456789012:user/rehearsal is not authorized to perform: ecr:DescribeRepositories on resource: * because no identity-based policy allows the ecr:DescribeRepositories action',
};

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startFakeAws(error: AwsError): Promise<FakeAws> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer(async (request, response) => {
    const text = await body(request);
    const target = request.headers['x-amz-target'];
    const userAgent = String(request.headers['user-agent'] ?? request.headers['x-amz-user-agent'] ?? '');
    const requestId = `rehearsal-${requests.length + 1}`;
    if (typeof target === 'string') {
      requests.push({ operation: target, userAgent });
      response.writeHead(error.status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': `${error.code}:`,
      });
      response.end(JSON.stringify({ __type: error.code, message: error.message }));
      return;
    }
    requests.push({ operation: new URLSearchParams(text).get('Action') ?? `${request.method} ${request.url}`, userAgent });
    response.writeHead(error.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    response.end(
      `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>` +
        `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    sdkRequests: () => requests.filter((seen) => /aws-sdk-js/i.test(seen.userAgent)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
