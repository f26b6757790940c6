// Starts a real server (real listeners on free ports, real worker processes) for a test, and small
// HTTP helpers to talk to it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { after, before } from 'node:test';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../frontend/config/server-config.js';
import type { Key } from '../../frontend/config/keys.js';
import { startServer, type RunningServer } from '../../frontend/control/controller.js';

export interface TestServer extends RunningServer {
  store: string;
}

/** `log`: a logger of the test's own (e.g. captureLogs()) instead of a silent one. */
export async function startTestServer(overrides: Partial<Record<Key, string>> = {}, store?: string, log?: Logger): Promise<TestServer> {
  const modelStore = store ?? mkdtempSync(path.join(os.tmpdir(), 'mms-store-'));
  // Each server its own model snapshot, unless the test restarts on one (snapshot_dir given, or
  // given as undefined: the server's default).
  const ownSnapshot = 'snapshot_dir' in overrides ? undefined : mkdtempSync(path.join(os.tmpdir(), 'mms-snap-'));
  // And its own work_dir (the default, <tmpdir>/mms-models, would outlive the test).
  const ownWork = 'work_dir' in overrides ? undefined : mkdtempSync(path.join(os.tmpdir(), 'mms-work-'));
  const config = loadConfig({
    env: {},
    configFile: null, // never a config.properties of the working directory
    overrides: {
      inference_address: 'http://127.0.0.1:0',
      management_address: 'http://127.0.0.1:0',
      metrics_address: 'http://127.0.0.1:0',
      grpc_inference_address: 'http://127.0.0.1:0',
      model_store: modelStore,
      ...(ownSnapshot ? { snapshot_dir: ownSnapshot } : {}),
      ...(ownWork ? { work_dir: ownWork } : {}),
      ...overrides,
    },
  });
  const server = await startServer(config, log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  return {
    ...server,
    store: modelStore,
    async close() {
      await server.close();
      if (!store) rmSync(modelStore, { recursive: true, force: true });
      if (ownSnapshot) rmSync(ownSnapshot, { recursive: true, force: true });
      if (ownWork) rmSync(ownWork, { recursive: true, force: true });
    },
  };
}

/**
 * One explicit loopback address on a free port, for a server whose inference and management share a
 * listener (the controller then serves inference itself, and its logs hold the access log).
 */
export async function sharedAddress(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/**
 * For a suite: a server with a model store and a work_dir of its own under one temp root (`root/store`,
 * `root/work`), started before the suite's tests and removed after them. `server` is set once started.
 */
export function serverWithOwnDirs(prefix: string, overrides: Partial<Record<Key, string>> = {}) {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dirs = {
    root,
    store: path.join(root, 'store'),
    workDir: path.join(root, 'work'),
    server: undefined as unknown as TestServer,
    workDirEntries: () => (existsSync(dirs.workDir) ? readdirSync(dirs.workDir) : []),
  };
  mkdirSync(dirs.store);
  before(async () => {
    dirs.server = await startTestServer({ work_dir: dirs.workDir, ...overrides }, dirs.store);
  });
  after(async () => {
    await dirs.server?.close();
    rmSync(root, { recursive: true, force: true });
  });
  return dirs;
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

export function postJson<T = any>(url: string, value: unknown): Promise<JsonResponse<T>> {
  return request<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
}

/** A KServe v2 JSON request for a single FP32 input. */
export function v2Request(name: string, shape: number[], data: number[]): unknown {
  return { inputs: [{ name, shape, datatype: 'FP32', data }] };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Re-checks a condition until it holds. For state owned by another process (a pid's exit, a worker's
 * restart after its back-off) there is no event in this process to await.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pids of this process's direct children that are worker processes (not inference fronts), from /proc. */
export function childPids(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('front-main.js')) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
}
