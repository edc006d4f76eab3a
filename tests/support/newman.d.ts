// The part of newman's library API the tests use (newman ships no type definitions).
declare module 'newman' {
  import type { EventEmitter } from 'node:events';

  export interface NewmanStat {
    total: number;
    failed: number;
    pending: number;
  }

  export interface NewmanFailure {
    error: { name: string; message: string; test?: string };
    at?: string;
    source?: { name?: string };
  }

  export interface NewmanRunSummary {
    run: {
      stats: Record<'iterations' | 'items' | 'scripts' | 'prerequests' | 'requests' | 'tests' | 'assertions' | 'testScripts' | 'prerequestScripts', NewmanStat>;
      failures: NewmanFailure[];
      /** Every request sent, in order: the collection's, and those its scripts sent (pm.sendRequest) under the item whose script sent them. */
      executions: { item: { name: string }; response?: { code: number } }[];
      error?: Error | null;
    };
  }

  export interface NewmanRunOptions {
    collection: string | object;
    environment?: string | object;
    envVar?: { key: string; value: string }[];
    reporters?: string | string[];
    timeout?: number;
    timeoutRequest?: number;
    timeoutScript?: number;
  }

  const newman: {
    run(options: NewmanRunOptions, callback: (error: Error | null, summary: NewmanRunSummary) => void): EventEmitter;
  };
  export default newman;
}
