import { connect, createServer, type Server, type Socket } from 'node:net';

/** Raw HTTP/1.1 over real sockets on 127.0.0.1, for what fetch hides: stalls, resets, keep-alive. */

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Complete HTTP/1.1 responses in what a socket received (bodies by Content-Length). */
export function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    if (Buffer.byteLength(body) < length) break;
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + length);
  }
  return responses;
}

/** A raw client connection: what it received, whether it was reset, when it closed. */
export interface RawConnection {
  socket: Socket;
  received: () => string;
  responses: () => RawResponse[];
  /** Resolves when the server closed the connection: with the error (ECONNRESET) if it was reset. */
  closed: Promise<{ error: string | undefined; atMs: number }>;
  send: (text: string) => void;
}

export async function openConnection(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  let error: string | undefined;
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('error', (caught: NodeJS.ErrnoException) => (error = caught.code ?? caught.message));
  const closed = new Promise<{ error: string | undefined; atMs: number }>((resolve) =>
    socket.once('close', () => resolve({ error, atMs: performance.now() })),
  );
  return { socket, received: () => text, responses: () => parseResponses(text), closed, send: (chunk) => socket.write(chunk) };
}

/** A TCP server on loopback that accepts connections and never answers: SNS hanging. */
export async function startHangingServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
