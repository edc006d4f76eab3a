import { HEARTBEAT_MAX_AGE_MS, heartbeatAgeMs } from './heartbeat.ts';

/**
 * The processor container's health check (Dockerfile HEALTHCHECK and the ECS task's healthCheck):
 * the heartbeat file named by HEARTBEAT_FILE must have been written in the last 30 seconds.
 * Exits 0 when healthy, 1 with the reason on standard error when not.
 */
const file = process.env.HEARTBEAT_FILE?.trim();

if (!file) {
  process.stderr.write('unhealthy: HEARTBEAT_FILE is not set\n');
  process.exit(1);
}
try {
  const age = heartbeatAgeMs(file);
  if (age <= HEARTBEAT_MAX_AGE_MS) process.exit(0);
  process.stderr.write(`unhealthy: last heartbeat ${Math.round(age / 1000)} s ago\n`);
} catch (error) {
  process.stderr.write(`unhealthy: ${(error as Error).message}\n`);
}
process.exit(1);
