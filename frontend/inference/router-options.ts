// What a front's WorkerRouter is told at construction (its hooks into the front's metrics and the
// controller) and what one request may add to its submission.
import type { Logger } from '../logging/logger.js';
import type { ModelUsage } from './model-usage.js';

export interface RouterOptions {
  frontId: string;
  maxResponseSize: number;
  log: Logger;
  /** A worker answered nothing for the response timeout with requests outstanding. */
  onStuck?: (model: string, worker: string) => void;
  /** A worker answered its first request through this front (ends a crash loop's back-off). */
  onServed?: (model: string, worker: string) => void;
  /** Each answered request's reply frame message (the worker's batch statistics). */
  onReply?: (model: string, message: string, key: string) => void;
  /** Counts each model's requests in flight and its last use, whatever API they came by (memory budget). */
  usage?: ModelUsage;
  /** A request waits for an on-demand model (a version's key) with no worker: ask the controller to load it. */
  onDemand?: (key: string) => void;
  /** Why a worker process of a model (a version's key) ended, for the error of a request it took down. */
  exitCause?: (key: string, worker: string) => Promise<string | undefined>;
  /** Each lookup in a model's response cache (metrics). */
  onCacheLookup?: (model: string, hit: boolean) => void;
}

/** What a request may add to its submission (docs/api.md, "Deadlines and cancellation"). */
export interface SubmitOptions {
  /** performance.now() time after which it is answered 504 and, if still queued, never run. */
  deadline?: number;
  /**
   * Arranges for `cancel` to be called if the client goes away unanswered (at once if it has already
   * gone): a request still queued is then dropped. Returns how to undo that once answered. (A plain
   * callback, not an AbortSignal: one per request was a measurable part of a front's cost.)
   */
  whenGone?: (cancel: () => void) => () => void;
  /** Admitted already (a pipeline's items after its first stage): no 503 for a full queue. */
  admitted?: boolean;
}
