/**
 * The receiver container's health check (Dockerfile HEALTHCHECK and the ECS task's healthCheck):
 * GET /health on its own port must answer 200 "OK" within 3 seconds. Exits 0 when healthy, 1 with
 * the reason on standard error when not.
 */
const port = process.env.PORT?.trim() || '8080';

try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
  const body = await response.text();
  if (response.status === 200 && body === 'OK') process.exit(0);
  process.stderr.write(`unhealthy: GET /health answered ${response.status}\n`);
} catch (error) {
  process.stderr.write(`unhealthy: GET /health failed: ${(error as Error).message}\n`);
}
process.exit(1);
