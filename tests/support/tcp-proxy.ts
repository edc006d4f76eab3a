import { createConnection, createServer, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'cut' | 'hang';

export interface TcpProxy {
  port: number;
  /** http://127.0.0.1:PORT, to use as AWS_ENDPOINT_URL. */
  url: string;
  /**
   * `forward`: pass bytes both ways. `cut`: reset every open connection and every new one (the
   * broker is unreachable). `hang`: accept connections and answer nothing, ever (open ones stop
   * being answered too).
   */
  set(mode: ProxyMode): void;
  /** When the proxy last went back to `forward` (performance.now()). */
  restoredAt: number | undefined;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

/** A TCP proxy on 127.0.0.1 in front of `targetPort` on 127.0.0.1, for cutting or hanging the broker. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  const pairs = new Set<Pair>();

  const hangUp = (pair: Pair) => {
    pair.upstream?.destroy();
    pair.upstream = undefined;
    pair.client.unpipe();
    pair.client.removeAllListeners('data');
    pair.client.on('data', () => undefined);
  };

  const server = createServer((client) => {
    const pair: Pair = { client, upstream: undefined };
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    pairs.add(pair);
    if (mode === 'hang') {
      hangUp(pair);
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      if (pair.upstream === upstream) client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };

  const proxy: TcpProxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    restoredAt: undefined,
    set(next) {
      if (next === mode) return;
      mode = next;
      if (next === 'forward') proxy.restoredAt = performance.now();
      for (const pair of [...pairs]) {
        if (next === 'cut') pair.client.resetAndDestroy();
        else if (next === 'hang') hangUp(pair);
      }
    },
    async close() {
      for (const pair of [...pairs]) pair.client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
