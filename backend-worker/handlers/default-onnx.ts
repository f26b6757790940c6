// The default handler for plain ONNX archives: KServe v2 tensors in, session.run, KServe v2 tensors out.
// Requests of a batch that fit together run as one joined session.run; a bad item fails alone.
import path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../../protocol/manifest.js';
import type { ModelMetadata } from '../../protocol/model-metadata.js';
import { createSession, inputSpecs, tensorMetadata, type InputSpec, type Session } from '../onnx-session.js';
import { invalidInput, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../handler-api.js';
import { runError } from '../ort-run-errors.js';
import { buildV2Response, parseV2Request, unknownOutputs, type V2Request } from './kserve-v2.js';
import { JoinBuffers, batchable, bucket, groupKey, joinFeeds, splitResults, zeroFeeds } from './tensor-batch.js';
import { onCuda } from '../shape-sessions.js';

export class OnnxTensorHandler implements Handler {
  private session!: Session;
  private specs: InputSpec[] = [];
  private canBatch = false;
  /** On a GPU: every run padded to the batch size, one input shape to tune (tensor-batch.ts, bucket). */
  private pad = false;
  /** Joined runs' input arrays, reused from run to run. */
  private buffers = new JoinBuffers();
  private batchSize = 1;
  private modelName = '';
  private version?: string;

  async initialize(ctx: HandlerContext): Promise<void> {
    const file = path.resolve(ctx.modelDir, ctx.manifest.model.modelFile ?? DEFAULT_MODEL_FILE);
    if (!file.startsWith(ctx.modelDir + path.sep)) throw new Error(`model file outside the model directory: ${file}`);
    this.session = await createSession(file, ctx.options);
    this.specs = inputSpecs(this.session);
    this.canBatch = batchable(this.specs);
    this.modelName = ctx.modelName;
    this.version = ctx.manifest.model.modelVersion;
    this.pad = this.canBatch && onCuda();
    this.batchSize = ctx.batchSize;
    this.buffers = new JoinBuffers(this.pad ? bucket(ctx.batchSize) : ctx.batchSize);
    // The padded shape's tuning is paid at load, not by requests, when no dimension waits for
    // requests to know it (an image size, a sequence length).
    const warm = this.pad ? zeroFeeds(this.specs, bucket(ctx.batchSize)) : undefined;
    if (warm) await this.session.run(warm);
  }

  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const out: InferenceOutput[] = new Array(batch.length);
    const groups = new Map<string, number[]>();
    const parsed: V2Request[] = [];
    batch.forEach((item, i) => {
      try {
        const request = parseV2Request(item, this.specs);
        const unknown = unknownOutputs(request, this.session.outputNames);
        if (unknown.length) throw invalidInput(`Unknown output(s): ${unknown.join(', ')}.`);
        parsed[i] = request;
        const key = (this.canBatch && (batch.length > 1 || this.pad) && groupKey(request)) || `single:${i}`;
        groups.set(key, [...(groups.get(key) ?? []), i]);
      } catch (err) {
        out[i] = err as Error;
      }
    });
    for (const members of groups.values()) {
      try {
        await this.runGroup(members.map((i) => parsed[i]), members, out);
      } catch (err) {
        // A joined run fails for all when one request's values are bad (an index out of range):
        // each request not yet answered then runs alone, so only those that fail alone fail.
        if (members.length === 1) out[members[0]] = runError(err);
        else for (const i of members) if (out[i] === undefined) await this.runAlone(parsed[i], i, out);
      }
    }
    return out;
  }

  private async runAlone(request: V2Request, i: number, out: InferenceOutput[]): Promise<void> {
    try {
      await this.runGroup([request], [i], out);
    } catch (err) {
      out[i] = runError(err);
    }
  }

  private async runGroup(requests: V2Request[], members: number[], out: InferenceOutput[]): Promise<void> {
    const fetches = requests[0].outputs?.map((o) => o.name);
    const run = (feeds: V2Request['feeds']) => (fetches ? this.session.run(feeds, fetches) : this.session.run(feeds));
    if (requests.length > 1 || this.pad) {
      const rows = requests.map((r) => Object.values(r.feeds)[0].dims[0]);
      const padTo = this.pad ? bucket(Math.max(this.batchSize, rows.reduce((a, b) => a + b, 0))) : 0;
      const feeds = joinFeeds(requests, padTo, this.buffers);
      let results;
      try {
        results = await run(feeds);
      } finally {
        this.buffers.give(feeds);
      }
      const split = splitResults(results, rows, padTo);
      if (split) {
        members.forEach((i, k) => (out[i] = buildV2Response(this.modelName, this.version, requests[k], split[k])));
        return;
      }
    }
    for (let k = 0; k < requests.length; k++) out[members[k]] = buildV2Response(this.modelName, this.version, requests[k], await run(requests[k].feeds));
  }

  metadata(): ModelMetadata {
    return tensorMetadata(this.session);
  }

  async close(): Promise<void> {
    await this.session?.release();
  }
}
