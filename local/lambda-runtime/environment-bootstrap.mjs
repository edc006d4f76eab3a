// The runtime inside one local execution environment (a worker thread): loads the function's
// bundle once (the init phase), then runs one invocation at a time as the parent asks. Plain
// JavaScript on purpose: the worker starts without tsx or any loader, so the init it measures is
// the bundle's own import and top-level code, as on Lambda.
//
// Messages from the parent: { type: 'invoke', requestId, event, deadline, context }.
// Messages to the parent:   { type: 'log', text } for everything the function writes,
//                           { type: 'ready', initDurationMs, memoryUsedMb } or { type: 'init_error', error },
//                           { type: 'result', requestId, ok, value | error, memoryUsedMb }.
import fs from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const port = parentPort;
const { modulePath, handlerName, sourceMaps } = workerData;

// What the function writes to standard output or error goes to the function's log, in order
// with the invocation's result: pino writes to file descriptor 1 directly (fs.writeSync), console
// through process.stdout. Lambda's runtime captures both the same way.
const forward = (chunk, encoding) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
  port.postMessage({ type: 'log', text });
};
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, ...rest) {
  if (fd === 1 || fd === 2) {
    const text = typeof buffer === 'string' ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).toString('utf8');
    forward(text);
    return Buffer.byteLength(text);
  }
  return writeSync.call(this, fd, buffer, ...rest);
};
for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    forward(chunk, encoding);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(done);
    return true;
  };
}
if (sourceMaps) process.setSourceMapsEnabled(true);

/** The environment's memory as this runtime can see it: its own heap and the memory V8 holds outside it. */
const memoryUsedMb = () => {
  const heap = getHeapStatistics();
  return Math.ceil((heap.total_physical_size + heap.external_memory) / (1024 * 1024));
};

const describe = (error) => {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: typeof error.code === 'string' ? error.code : undefined, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
};

let handler;
const initStart = performance.now();
try {
  const module = await import(pathToFileURL(modulePath).href);
  handler = module[handlerName];
  if (typeof handler !== 'function') {
    const error = new Error(`${modulePath} does not export a function named ${handlerName}`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  port.postMessage({ type: 'ready', initDurationMs: performance.now() - initStart, memoryUsedMb: memoryUsedMb() });
} catch (error) {
  port.postMessage({ type: 'init_error', initDurationMs: performance.now() - initStart, error: describe(error) });
}

port.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { requestId, event, deadline, context: fields } = message;
  const context = {
    ...fields,
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const value = await handler(event, context);
    port.postMessage({ type: 'result', requestId, ok: true, value, memoryUsedMb: memoryUsedMb() });
  } catch (error) {
    port.postMessage({ type: 'result', requestId, ok: false, error: describe(error), memoryUsedMb: memoryUsedMb() });
  }
});
