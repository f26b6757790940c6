// The default handler for plain ONNX archives: KServe v2 tensors in, session.run, KServe v2 tensors out.
// Requests of a batch that fit together run as one joined session.run; a bad item fails alone.
import path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../../protocol/manifest.js';
import type { ModelMetadata } from '../../protocol/model-metadata.js';
import { createSession, inputSpecs, tensorMetadata, type InputSpec, type Session } from '../onnx-session.js';
import { HandlerError, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../handler-api.js';
import { buildV2Response, parseV2Request, unknownOutputs, type V2Request } from './kserve-v2.js';
import { batchable, groupKey, joinFeeds, splitResults } from './tensor-batch.js';

export class OnnxTensorHandler implements Handler {
  private session!: Session;
  private specs: InputSpec[] = [];
  private canBatch = false;
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
  }

  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const out: InferenceOutput[] = new Array(batch.length);
    const groups = new Map<string, number[]>();
    const parsed: V2Request[] = [];
    batch.forEach((item, i) => {
      try {
        const request = parseV2Request(item, this.specs);
        const unknown = unknownOutputs(request, this.session.outputNames);
        if (unknown.length) throw new HandlerError(400, `Unknown output(s): ${unknown.join(', ')}.`);
        parsed[i] = request;
        const key = (this.canBatch && batch.length > 1 && groupKey(request)) || `single:${i}`;
        groups.set(key, [...(groups.get(key) ?? []), i]);
      } catch (err) {
        out[i] = err as Error;
      }
    });
    for (const members of groups.values()) {
      try {
        await this.runGroup(members.map((i) => parsed[i]), members, out);
      } catch (err) {
        const e = err instanceof HandlerError ? err : new HandlerError(500, `Inference failed: ${(err as Error).message}`);
        for (const i of members) out[i] = e;
      }
    }
    return out;
  }

  private async runGroup(requests: V2Request[], members: number[], out: InferenceOutput[]): Promise<void> {
    const fetches = requests[0].outputs?.map((o) => o.name);
    const run = (feeds: V2Request['feeds']) => (fetches ? this.session.run(feeds, fetches) : this.session.run(feeds));
    if (requests.length > 1) {
      const split = splitResults(await run(joinFeeds(requests)), requests.map((r) => Object.values(r.feeds)[0].dims[0]));
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
