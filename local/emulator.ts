import { buildApp } from 'fauxqs';

export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the fauxqs SNS/SQS emulator in this process, listening on loopback only (fauxqs's own
 * `startFauxqs` listens on every interface). Port 0 picks a free one.
 */
export async function startEmulator(port: number): Promise<Emulator> {
  const app = buildApp({ logger: false });
  const address = await app.listen({ port, host: '127.0.0.1' });
  const actualPort = Number(new URL(address).port);
  return { url: `http://127.0.0.1:${actualPort}`, port: actualPort, stop: () => app.close() };
}
