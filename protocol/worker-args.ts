// The worker process's command-line arguments, defined once: the frontend builds argv with
// toWorkerArgv (frontend/control/workers/worker-process.ts), the worker reads it back with parseWorkerArgv
// (backend-worker/main.ts). The batch size is not here: it travels in the Load frame
// (docs/protocol.md "Worker launch and readiness", "Worker-side batching").
import { parseArgs } from 'node:util';
import { RUNTIMES, type Runtime } from './manifest.js';

export interface WorkerArgs {
  /** Unix socket path the worker listens on. */
  sockName: string;
  runtime: Runtime;
  intraOpThreads: number;
  interOpThreads: number;
  /**
   * Execution providers to try in order, each alone: the first that creates the model's sessions is
   * used (`cuda` on the Load frame's GPU id, `cpu`, `webgpu`); a later one is a fallback.
   */
  executionProviders: string[];
  /**
   * 0: the handler runs on the main thread (one process per worker). N: the process is shared (GPU
   * sharing) and loads the handler on N threads of its own, running up to N batches at once.
   */
  sessions: number;
  /** Largest reply item body, in bytes; a bigger one becomes that item's 500. */
  maxResponseSize: number;
  /** How long (ms) the worker's batch former holds a partial batch while another batch runs. */
  maxBatchDelay: number;
}

export const WORKER_ARG_DEFAULTS: Omit<WorkerArgs, 'sockName'> = {
  runtime: 'onnx',
  intraOpThreads: 1,
  interOpThreads: 1,
  executionProviders: ['cpu'],
  sessions: 0,
  maxResponseSize: 6_553_500,
  maxBatchDelay: 100,
};

type Kind = 'string' | 'runtime' | 'int' | 'list';

/** Field → flag, value kind and the smallest value an int may take. */
const FLAGS: { [K in keyof WorkerArgs]: { flag: string; kind: Kind; min?: number } } = {
  sockName: { flag: 'sock-name', kind: 'string' },
  runtime: { flag: 'runtime', kind: 'runtime' },
  intraOpThreads: { flag: 'intra-op-threads', kind: 'int', min: 1 },
  interOpThreads: { flag: 'inter-op-threads', kind: 'int', min: 1 },
  executionProviders: { flag: 'execution-providers', kind: 'list' },
  sessions: { flag: 'sessions', kind: 'int', min: 0 },
  maxResponseSize: { flag: 'max-response-size', kind: 'int', min: 0 },
  maxBatchDelay: { flag: 'max-batch-delay', kind: 'int', min: 0 },
};

const FIELDS = Object.keys(FLAGS) as Array<keyof WorkerArgs>;

export const WORKER_USAGE = `usage: main.js ${FIELDS.map((f) => `--${FLAGS[f].flag} ${FLAGS[f].kind === 'runtime' ? RUNTIMES.join('|') : FLAGS[f].kind.toUpperCase()}`).join(' ')}`;

export class WorkerArgsError extends Error {
  override name = 'WorkerArgsError';
}

/** The argv (without node and the script) that parseWorkerArgv reads back as `args`. */
export function toWorkerArgv(args: WorkerArgs): string[] {
  return FIELDS.flatMap((f) => {
    const v = args[f];
    return [`--${FLAGS[f].flag}`, Array.isArray(v) ? v.join(',') : String(v)];
  });
}

/** Reads the worker's argv; missing flags take WORKER_ARG_DEFAULTS. Throws WorkerArgsError. */
export function parseWorkerArgv(argv: string[]): WorkerArgs {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(FIELDS.map((f) => [FLAGS[f].flag, { type: 'string' as const }]));
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new WorkerArgsError(`${(err as Error).message}\n${WORKER_USAGE}`);
  }
  const out: Record<string, unknown> = { ...WORKER_ARG_DEFAULTS };
  for (const f of FIELDS) {
    const { flag, kind, min } = FLAGS[f];
    const raw = values[flag];
    if (raw === undefined) continue;
    if (kind === 'int') {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < (min ?? 0)) throw new WorkerArgsError(`--${flag} must be an integer ≥ ${min ?? 0}, got "${raw}".\n${WORKER_USAGE}`);
      out[f] = n;
    } else if (kind === 'runtime') {
      if (!(RUNTIMES as readonly string[]).includes(raw)) throw new WorkerArgsError(`--${flag} must be one of ${RUNTIMES.join(', ')}, got "${raw}".\n${WORKER_USAGE}`);
      out[f] = raw;
    } else if (kind === 'list') {
      out[f] = raw.split(',').filter(Boolean);
    } else {
      out[f] = raw;
    }
  }
  if (!out.sockName) throw new WorkerArgsError(`--sock-name is required.\n${WORKER_USAGE}`);
  return out as unknown as WorkerArgs;
}
