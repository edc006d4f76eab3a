import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { billedDurationMs, endLine, reportLine, startLine, timeoutLine, type InvocationReport } from './platform-lines.ts';

/** What a function's execution environments are made of, as its configuration on AWS says. */
export interface FunctionSettings {
  functionName: string;
  /** The built bundle (an ES module) and the export to call: serverless.yml's `handler`. */
  modulePath: string;
  handlerName: string;
  /** Memory Size: bounds the environment's heap and is reported on every REPORT line. */
  memorySizeMb: number;
  /** The function's timeout: an invocation still running then fails and its environment ends. */
  timeoutMs: number;
  /** The init phase's own limit (Lambda: 10 s). */
  initTimeoutMs?: number;
  /** The function's environment variables (the platform's own AWS_LAMBDA_* are added). */
  environment: Record<string, string>;
  region?: string;
}

/** An invocation that failed, with the error type Lambda reports (the handler's error name, or a Runtime./Sandbox. type). */
export class FunctionError extends Error {
  readonly errorType: string;
  readonly code: string;

  /** `code`: the error's own code when it has one (ordersync's errors do), for the invoker's log. */
  constructor(errorType: string, message: string, options: { stack?: string | undefined; code?: string | undefined } = {}) {
    super(message);
    this.name = errorType;
    this.errorType = errorType;
    this.code = options.code ?? errorType;
    if (options.stack) this.stack = options.stack;
  }
}

export type InvocationOutcome =
  | { ok: true; value: unknown; report: InvocationReport }
  | { ok: false; error: FunctionError; report: InvocationReport };

interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

type WorkerMessage =
  | { type: 'log'; text: string }
  | { type: 'ready'; initDurationMs: number; memoryUsedMb: number }
  | { type: 'init_error'; initDurationMs: number; error: SerializedError }
  | { type: 'result'; requestId: string; ok: boolean; value?: unknown; error?: SerializedError; memoryUsedMb: number };

type Settled = { kind: 'result'; message: Extract<WorkerMessage, { type: 'result' }> } | { kind: 'ended'; error: FunctionError };

const BOOTSTRAP = fileURLToPath(new URL('environment-bootstrap.mjs', import.meta.url));

/** Writes one line of the function's log (no newline). */
export type LogWriter = (line: string) => void;

/**
 * One execution environment: a worker thread that imports the function's bundle once (the init
 * phase, timed inside the worker as Init Duration) and then runs invocations one at a time. Its
 * heap is bounded by the memory size; running out of memory, exiting, or passing the timeout ends
 * the environment (the worker is terminated), and the next invocation needs a new one: a cold start.
 *
 * Every invocation writes START, the function's own output, END and REPORT, as Lambda does.
 */
export class ExecutionEnvironment {
  readonly id = randomUUID().replaceAll('-', '');
  private readonly settings: FunctionSettings;
  private readonly write: LogWriter;
  private readonly worker: Worker;
  /** Resolves when the init phase ended: its duration, or the error that failed it. */
  private readonly initialized: Promise<{ initDurationMs: number; error?: FunctionError }>;
  private pending: ((settled: Settled) => void) | undefined;
  private endedWith: FunctionError | undefined;
  private reportedInit = false;
  private initDurationMs = 0;
  /** The largest memory figure seen in this environment's life (what REPORT's Max Memory Used shows). */
  private maxMemoryUsedMb = 0;
  /** Epoch ms of the last invocation's end (or of the start), for the idle reaper. */
  lastUsedAt = Date.now();
  invocations = 0;

  constructor(settings: FunctionSettings, write: LogWriter) {
    this.settings = settings;
    this.write = write;
    const region = settings.region ?? 'us-east-1';
    this.worker = new Worker(BOOTSTRAP, {
      workerData: {
        modulePath: settings.modulePath,
        handlerName: settings.handlerName,
        sourceMaps: (settings.environment.NODE_OPTIONS ?? '').includes('--enable-source-maps'),
      },
      // No loader and no flags of this process: the init is the bundle's, nothing else.
      execArgv: [],
      env: {
        ...settings.environment,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_LAMBDA_FUNCTION_NAME: settings.functionName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memorySizeMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${settings.functionName}`,
        AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      },
      resourceLimits: { maxOldGenerationSizeMb: settings.memorySizeMb },
      stdout: true,
      stderr: true,
    });
    // Anything not caught by the bootstrap's capture still belongs to the function's log.
    for (const stream of [this.worker.stdout, this.worker.stderr]) stream.setEncoding('utf8').on('data', (text: string) => this.writeOutput(text));

    this.initialized = new Promise((resolve) => {
      const initTimeoutMs = settings.initTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.end(new FunctionError('Runtime.InitTimeout', `Init phase did not end within ${(initTimeoutMs / 1000).toFixed(2)} seconds`));
        resolve({ initDurationMs: initTimeoutMs, error: this.endedWith });
      }, initTimeoutMs);
      this.onInit = (message) => {
        clearTimeout(timer);
        this.maxMemoryUsedMb = Math.max(this.maxMemoryUsedMb, message.type === 'ready' ? message.memoryUsedMb : 0);
        if (message.type === 'ready') resolve({ initDurationMs: message.initDurationMs });
        else {
          const error = new FunctionError(initErrorType(message.error), message.error.message, { stack: message.error.stack, code: message.error.code });
          this.end(error);
          resolve({ initDurationMs: message.initDurationMs, error });
        }
      };
      this.onEndBeforeInit = (error) => {
        clearTimeout(timer);
        resolve({ initDurationMs: 0, error });
      };
    });

    this.worker.on('message', (message: WorkerMessage) => this.receive(message));
    this.worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (outOfMemory) this.maxMemoryUsedMb = settings.memorySizeMb;
      this.end(
        outOfMemory
          ? new FunctionError('Runtime.OutOfMemory', 'Runtime exited with error: signal: killed')
          : new FunctionError('Runtime.ExitError', `Runtime exited with error: ${error.name}: ${error.message}`),
      );
    });
    this.worker.on('exit', (code) => this.end(new FunctionError('Runtime.ExitError', `Runtime exited with error: exit status ${code}`)));
  }

  private onInit: (message: Extract<WorkerMessage, { type: 'ready' | 'init_error' }>) => void = () => undefined;
  private onEndBeforeInit: (error: FunctionError) => void = () => undefined;

  get logStreamName(): string {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    return `${day}/[$LATEST]${this.id}`;
  }

  /** False once the environment has ended (out of memory, exit, timeout, shutdown): it takes no more invocations. */
  get alive(): boolean {
    return this.endedWith === undefined;
  }

  /**
   * Runs one invocation: the init phase first if this is the environment's first (a cold start,
   * reported as Init Duration), then the handler, bounded by the function's timeout.
   */
  async invoke(event: unknown, requestId: string): Promise<InvocationOutcome> {
    const init = await this.initialized;
    const coldStart = !this.reportedInit;
    if (coldStart) {
      this.reportedInit = true;
      this.initDurationMs = init.initDurationMs;
    }
    this.write(startLine(requestId));
    this.invocations += 1;
    const invokeStart = performance.now();
    let settled: Settled;
    if (init.error || this.endedWith) {
      settled = { kind: 'ended', error: init.error ?? (this.endedWith as FunctionError) };
    } else {
      settled = await this.run(event, requestId);
    }
    const durationMs = performance.now() - invokeStart;
    this.lastUsedAt = Date.now();

    const report: InvocationReport = {
      requestId,
      durationMs,
      billedDurationMs: billedDurationMs(durationMs, coldStart ? this.initDurationMs : undefined),
      memorySizeMb: this.settings.memorySizeMb,
      maxMemoryUsedMb: 0,
      ...(coldStart ? { initDurationMs: this.initDurationMs } : {}),
    };
    let outcome: InvocationOutcome;
    if (settled.kind === 'result') {
      this.maxMemoryUsedMb = Math.max(this.maxMemoryUsedMb, settled.message.memoryUsedMb);
      if (settled.message.ok) outcome = { ok: true, value: settled.message.value, report };
      else {
        const error = settled.message.error ?? { name: 'Error', message: 'unknown error' };
        this.write(invokeErrorLine(requestId, error));
        outcome = { ok: false, error: new FunctionError(error.name, error.message, { stack: error.stack, code: error.code }), report };
      }
    } else {
      const { error } = settled;
      if (error.errorType === 'Sandbox.Timedout') {
        report.status = 'timeout';
        this.write(timeoutLine(new Date(), requestId, this.settings.timeoutMs));
      } else {
        report.status = 'error';
        report.errorType = error.errorType;
        this.write(`RequestId: ${requestId} Error: ${error.message}`);
      }
      outcome = { ok: false, error, report };
    }
    report.maxMemoryUsedMb = Math.min(this.settings.memorySizeMb, Math.max(1, this.maxMemoryUsedMb));
    this.write(endLine(requestId));
    this.write(reportLine(report));
    return outcome;
  }

  /** Ends the environment (idle too long, or the local stack stops). */
  async shutdown(): Promise<void> {
    this.end(new FunctionError('Runtime.Shutdown', 'execution environment shut down'));
    await this.worker.terminate();
  }

  private run(event: unknown, requestId: string): Promise<Settled> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.end(new FunctionError('Sandbox.Timedout', `Task timed out after ${(this.settings.timeoutMs / 1000).toFixed(2)} seconds`));
      }, this.settings.timeoutMs);
      this.pending = (settled) => {
        clearTimeout(timer);
        this.pending = undefined;
        resolve(settled);
      };
      const { functionName, memorySizeMb, region = 'us-east-1' } = this.settings;
      this.worker.postMessage({
        type: 'invoke',
        requestId,
        event,
        deadline: Date.now() + this.settings.timeoutMs,
        context: {
          functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
          memoryLimitInMB: String(memorySizeMb),
          logGroupName: `/aws/lambda/${functionName}`,
          logStreamName: this.logStreamName,
        },
      });
    });
  }

  private receive(message: WorkerMessage): void {
    if (message.type === 'log') this.writeOutput(message.text);
    else if (message.type === 'ready' || message.type === 'init_error') this.onInit(message);
    else if (message.type === 'result') this.pending?.({ kind: 'result', message });
  }

  private partial = '';

  /** The function's output, a line at a time (a write may hold several lines or part of one). */
  private writeOutput(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) this.write(line);
  }

  /** The environment is gone: the invocation under way (if any) fails with `error`; the worker is stopped. */
  private end(error: FunctionError): void {
    if (this.endedWith) return;
    this.endedWith = error;
    if (this.partial) this.write(this.partial);
    this.partial = '';
    this.onEndBeforeInit(error);
    this.pending?.({ kind: 'ended', error });
    void this.worker.terminate();
  }
}

function initErrorType(error: SerializedError): string {
  if (error.name.startsWith('Runtime.')) return error.name;
  if (error.code === 'ERR_MODULE_NOT_FOUND') return 'Runtime.ImportModuleError';
  if (error.name === 'SyntaxError') return 'Runtime.UserCodeSyntaxError';
  return error.name;
}

/** The line the Node.js runtime writes for a handler that threw or rejected. */
function invokeErrorLine(requestId: string, error: SerializedError): string {
  const body = { errorType: error.name, errorMessage: error.message, stack: (error.stack ?? '').split('\n') };
  return `${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(body)}`;
}
