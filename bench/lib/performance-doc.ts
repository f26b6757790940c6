// docs/performance.md: the introduction, then the latest local and many-core results, whichever exist.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ocrFile, ocrMarkdown, type OcrResults } from './ocr-scenario.js';
import { markdown, type Results } from './report.js';

const readJson = <T>(dir: string, f: string): T | undefined => (existsSync(path.join(dir, f)) ? (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as T) : undefined);

/** docs/performance.md from the latest local and many-core results, whichever exist. */
export function performanceDoc(dir: string): string {
  const local = readJson<Results>(dir, 'performance.json');
  const device = readJson<Results>(dir, 'performance-device.json');
  const ocrCpu = readJson<OcrResults>(dir, ocrFile(0));
  const ocrGpu = readJson<OcrResults>(dir, ocrFile(1));
  return [
    '# Performance',
    '',
    'Measured by `npm run bench` (docs written by it; do not edit by hand). One run measures our server and its',
    'peers on the same machine, since machines differ up to 3×: the in-process ORT loop (the limit), a naive',
    'one-process Koa + ORT server (what a user would write; once with 1 ORT intra-op thread and once with ORT\'s',
    'default threads, what a user gets), a bare Koa no-op server (the HTTP floor), and bare',
    '`node:http` reading the cls body and answering 200 (bench/peers/bare-http.ts: the floor of a Node front\'s',
    'CPU per request; it serves no model, so it is left off the plot). Load',
    'comes from autocannon in separate processes (more of them on many-core hosts, so the load generator is not',
    'the limit; "load cores" shows the busiest one). The contenders of a scenario run interleaved (A B A B) over',
    'several rounds: figures are medians, ratios are taken between neighbours in the same round, so a shared',
    'machine\'s drift cancels. The cls model is PaddleOCR\'s direction classifier fed one [1,3,48,192] FP32',
    'tensor (110 KB) per request in the KServe v2 binary format; the no-op model answers two bytes from a JS',
    'handler, so it measures the serving path alone. "ours cls gRPC" sends the same tensor as a gRPC ModelInfer',
    'call (raw_input_contents, one prebuilt message over node:http2) to the same model as its REST binary twin. Our server runs as users run it: separate inference and',
    'management addresses, so inference goes through the inference front processes (`number_of_netty_threads`,',
    '`--fronts`), with the default log level (info: the access log on) and its stdout written to a file, as',
    '`npm start > file` would; `--log-level L` measures another level, and each run names its level above its',
    'table. `npm run bench -- --device` is the many-core run (cls only, one worker per core but one, bare',
    '`node:http` beside it, then the fronts scaling series: 1, 2, 4, 8 fronts against the in-process loops).',
    '`--cpu-affinity` registers each measured cls model a second time with `cpu_affinity=true` ("ours cls pinned",',
    'each worker on cores of its own: [configuration.md](configuration.md#cpu-pinning)) and measures it right after',
    'its unpinned twin in every round; the goals then list pinned / unpinned req/s per concurrency. Our server',
    'runs with the default `job_queue_size` (100), except the fronts series, whose servers take',
    '`job_queue_size` = its concurrency so that one front alone admits every connection.',
    '',
    'Reading the figures: "front µs/req", "controller µs/req" and "worker µs/req" are the CPU time all our',
    'inference fronts, the controller (the server process) and all backend workers used during a point,',
    'divided by the responses answered in it; "total µs/req" is their sum, or a peer\'s one process. "worker',
    'outside session.run" is the workers\' CPU less what they spent inside onnxruntime\'s `session.run`, which',
    'they report with each batch (`mms_session_cpu_seconds_total`, [api.md](api.md#metrics)): the worker\'s own',
    'cost per request (reading the frame, making the tensors, writing the reply). Each',
    'process\'s CPU is read from /proc at the start and end of the point (its threads\' `schedstat`, ns; `stat`',
    'clock ticks where schedstat is missing); the load generator\'s processes are not counted. A front\'s',
    'µs/req over bare `node:http`\'s is what our HTTP path costs beyond Node\'s own (goal: ≤ 1.5×). "controller',
    'cores" and "front cores" are the same CPU per second of the point; a front near 1 core is the',
    'bottleneck, since its JavaScript runs on one event loop. On a 2-core machine the load generator, the',
    'fronts and the workers share two cores, so no configuration there can reach the in-process loop\'s rate',
    'per worker.',
    '',
    'Where the CPU of a front and of a worker goes, function by function: [performance-profile.md](performance-profile.md).',
    '',
    local ? markdown(local, 'Latest run') : '',
    local ? '![throughput](performance.svg)\n' : '',
    device ? markdown(device, 'Many-core run') : '',
    device ? '![many-core throughput and fronts scaling](performance-device.svg)\n' : '',
    ocrCpu || ocrGpu ? ocrSection(ocrCpu, ocrGpu) : '',
  ].join('\n');
}

/** docs/performance-device.md: the many-core run alone. */
export function performanceDeviceDoc(dir: string): string | undefined {
  const device = readJson<Results>(dir, 'performance-device.json');
  if (!device) return undefined;
  return ['# Performance on a many-core host', '', 'Written by `npm run bench -- --device` (the command of this run is under the machine; see [performance.md](performance.md) for how to read it).', '', markdown(device, 'Many-core run'), '![many-core throughput and fronts scaling](performance-device.svg)', ''].join('\n');
}

function ocrSection(cpu: OcrResults | undefined, gpu: OcrResults | undefined): string {
  return [
    '## OCR: the three-stage pipeline against the single handler',
    '',
    '`npm run bench -- --ocr --ocr-stages D,C,R` (CPU) and `-- --ocr --gpus 1` (every stage on CUDA): the bundled',
    '`ocr` archive registered twice on one server, as its det → cls → rec pipeline (D, C, R workers) and with',
    '`handler=ocr` (one model, as many workers in all), measured interleaved in the same rounds',
    '([pipelines.md](pipelines.md)).',
    '',
    ...(cpu ? ['### CPU', '', ocrMarkdown(cpu, undefined), ''] : []),
    ...(gpu ? ['### GPU', '', ocrMarkdown(gpu, cpu), ''] : []),
  ].join('\n');
}
