import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

export interface LoggerOptions {
  /** Which part of the system writes: receiver, processor, lambda, local. */
  component: string;
  level?: LogLevel;
  /** Where JSON lines go; standard output when absent. Tests pass a collector. */
  destination?: DestinationStream;
}

/**
 * JSON lines, one object each, with an `event` field on every line about an order
 * (order.accepted, order.processed, order.failed, order.dead_lettered). CloudWatch Logs Insights
 * and the local tools read the same lines.
 */
export function createLogger({ component, level = 'info', destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'ordersync', component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
