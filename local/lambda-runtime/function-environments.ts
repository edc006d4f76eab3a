import { ExecutionEnvironment, type FunctionSettings, type InvocationOutcome, type LogWriter } from './execution-environment.ts';
import type { TimedReport } from './platform-lines.ts';

/** Lambda's default concurrency limit of an account (per region), which an unreserved function shares. */
export const ACCOUNT_CONCURRENCY = 1000;
/** Lambda's scaling rate: each function gains at most 1,000 execution environments every 10 seconds. */
export const SCALING_RATE = { environments: 1000, perMs: 10_000 };
/** How long an idle environment is kept. Lambda does not document it (minutes, in practice); configurable. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export interface FunctionEnvironmentsOptions extends FunctionSettings {
  /** Reserved concurrency when set; otherwise the account's limit. Environments never exceed it. */
  concurrencyLimit: number;
  /** New environments allowed per period (Lambda: 1,000 per 10 s). */
  scalingRate?: { environments: number; perMs: number };
  idleTimeoutMs?: number;
  /** Where START, the function's output, END and REPORT lines go. */
  write: LogWriter;
  /** REPORT figures kept for the cold-start report (the latest ones; default 100,000). */
  keptReports?: number;
}

/** Lambda's answer when no environment can take an invocation: 429 TooManyRequestsException. */
export class ThrottledError extends Error {
  readonly code = 'TooManyRequestsException';
  readonly reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded' | 'FunctionScalingRateExceeded';

  constructor(reason: ThrottledError['reason']) {
    super(`Rate Exceeded (${reason})`);
    this.name = 'TooManyRequestsException';
    this.reason = reason;
  }
}

export interface EnvironmentStats {
  /** Execution environments alive now (busy or idle). */
  environments: number;
  /** Environments running an invocation now: the function's concurrent executions. */
  busy: number;
  peakEnvironments: number;
  peakBusy: number;
  /** Invocations that needed a new environment. */
  coldStarts: number;
  /** Invocations refused for want of an environment (limit or scaling rate). */
  throttles: number;
  concurrencyLimit: number;
}

/**
 * A function's execution environments, as Lambda manages them: an invocation takes an idle
 * environment (warm; the most recently used first) or starts a new one (cold) while the
 * concurrency limit and the scaling rate allow it, and is throttled otherwise. Idle environments
 * are shut down after the idle timeout; an environment that ends (timeout, out of memory, exit)
 * is replaced by the next cold start.
 */
export class FunctionEnvironments {
  private readonly options: FunctionEnvironmentsOptions;
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly busy = new Set<ExecutionEnvironment>();
  /** When each environment of the current scaling period was created (epoch ms, oldest first). */
  private readonly created: number[] = [];
  private readonly reports: TimedReport[] = [];
  private readonly reaper: NodeJS.Timeout;
  private readonly counters = { peakEnvironments: 0, peakBusy: 0, coldStarts: 0, throttles: 0 };
  private closed = false;

  constructor(options: FunctionEnvironmentsOptions) {
    this.options = options;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.reaper = setInterval(() => this.reapIdle(idleTimeoutMs), Math.max(50, Math.min(idleTimeoutMs / 4, 10_000)));
    this.reaper.unref();
  }

  get stats(): EnvironmentStats {
    return {
      environments: this.idle.length + this.busy.size,
      busy: this.busy.size,
      ...this.counters,
      concurrencyLimit: this.options.concurrencyLimit,
    };
  }

  /** The REPORT figures of the invocations so far, with when each ended. */
  reportsSince(sinceMs = 0): TimedReport[] {
    return sinceMs <= 0 ? [...this.reports] : this.reports.filter((report) => Date.parse(report.at) >= sinceMs);
  }

  /**
   * Runs one invocation in an execution environment. Rejects with ThrottledError, before doing
   * anything, when no environment is free and no new one may start.
   */
  async invoke(event: unknown, requestId: string): Promise<InvocationOutcome> {
    if (this.closed) throw new Error('the function is shut down');
    const environment = this.take();
    this.busy.add(environment);
    this.counters.peakBusy = Math.max(this.counters.peakBusy, this.busy.size);
    try {
      const outcome = await environment.invoke(event, requestId);
      this.keep({ ...outcome.report, at: new Date().toISOString() });
      return outcome;
    } finally {
      this.busy.delete(environment);
      if (environment.alive && !this.closed) this.idle.push(environment);
    }
  }

  /** Shuts every environment down (the local stack stops). Invocations under way end with an error. */
  async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(all.map((environment) => environment.shutdown()));
  }

  private take(): ExecutionEnvironment {
    // The most recently used idle environment that is still alive (one may have ended while idle).
    for (let warm = this.idle.pop(); warm; warm = this.idle.pop()) if (warm.alive) return warm;
    const limit = this.options.concurrencyLimit;
    if (this.busy.size >= limit) {
      this.counters.throttles += 1;
      throw new ThrottledError(limit < ACCOUNT_CONCURRENCY ? 'ReservedFunctionConcurrentInvocationLimitExceeded' : 'ConcurrentInvocationLimitExceeded');
    }
    const rate = this.options.scalingRate ?? SCALING_RATE;
    const now = Date.now();
    while (this.created.length > 0 && (this.created[0] ?? 0) <= now - rate.perMs) this.created.shift();
    if (this.created.length >= rate.environments) {
      this.counters.throttles += 1;
      throw new ThrottledError('FunctionScalingRateExceeded');
    }
    this.created.push(now);
    this.counters.coldStarts += 1;
    const environment = new ExecutionEnvironment(this.options, this.options.write);
    this.counters.peakEnvironments = Math.max(this.counters.peakEnvironments, this.idle.length + this.busy.size + 1);
    return environment;
  }

  private keep(report: TimedReport): void {
    this.reports.push(report);
    const kept = this.options.keptReports ?? 100_000;
    if (this.reports.length > kept) this.reports.splice(0, this.reports.length - kept);
  }

  private reapIdle(idleTimeoutMs: number): void {
    const cutoff = Date.now() - idleTimeoutMs;
    for (let index = this.idle.length - 1; index >= 0; index -= 1) {
      const environment = this.idle[index];
      if (environment && (environment.lastUsedAt <= cutoff || !environment.alive)) {
        this.idle.splice(index, 1);
        void environment.shutdown();
      }
    }
  }
}
