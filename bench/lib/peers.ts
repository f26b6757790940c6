// The peers of `npm run bench`, each one process, started from bench/peers/ and measured like ours
// (its CPU per request from /proc): the naive Koa + ORT server, bare Koa (no-op), bare node:http.
import path from 'node:path';
import type { Contender } from './ours.js';
import { DIST, rss, startNode, stop } from './processes.js';
import type { Series } from './report.js';

export interface Peer {
  contender: Contender;
  stop: () => Promise<void>;
}

/** The series name of the bare node:http peer (goals.ts finds it by name). */
export const BARE_HTTP = 'bare node:http (cls body, no model)';

async function start(name: string, model: Series['model'], script: string, args: string[], extra: Partial<Contender> = {}): Promise<Peer> {
  const { child, match } = await startNode(path.join(DIST, 'bench', 'peers', script), args, /^listening (\d+)/);
  const pid = child.pid!;
  return {
    contender: { name, model, url: `http://127.0.0.1:${match[1]}/`, workerRss: async () => rss(pid) / 2 ** 20, watch: { processes: () => ({ peer: [pid] }) }, ...extra },
    stop: () => stop(child),
  };
}

/** The series names of the naive Koa + ORT peers (goals.ts finds them by name). */
export const NAIVE_ONE_THREAD = 'naive Koa + ORT, 1 ORT thread (cls)';
export const NAIVE_DEFAULT_THREADS = "naive Koa + ORT, ORT's default threads (cls)";

/**
 * The naive one-process Koa + ORT server (cls) with `threads` intra-op threads (undefined: ORT's
 * default, what a user gets), or with `noop` bare Koa answering two bytes.
 */
export const startKoaPeer = (name: string, model: Series['model'], threads?: number): Promise<Peer> =>
  start(name, model, 'naive-server.js', model === 'noop' ? ['--noop'] : threads ? ['--threads', String(threads)] : []);

/** Bare node:http reading the cls body: the CPU floor of a Node front (not a server of the model). */
export const startBareHttp = (): Promise<Peer> => start(BARE_HTTP, 'cls', 'bare-http.js', [], { cpuFloor: true });
