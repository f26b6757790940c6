// The model a worker process has loaded: reads the manifest, builds the context, loads the handler
// once, and turns a decoded batch into reply items. Several connections (slots) may share one host.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_PATH, pickModelFile, validateManifest, type Manifest, type Runtime } from '../protocol/manifest.js';
import type { ModelMetadata } from '../protocol/model-metadata.js';
import { errorItem, type LoadRequest, type ReplyItem, type RequestItem } from '../protocol/messages.js';
import { badOutput, failureOf, HandlerError, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput, type WorkerOptions } from './handler-api.js';
import { loadHandler } from './handler-loader.js';
import { GATHER_HEADER, STAGE_ENV } from '../protocol/pipeline.js';
import { isItemsOutput, itemsReply, stageManifest, type StageRole } from './stage-output.js';

export const SERVER_VERSION = '1.1.11';

export class ModelHost {
  private constructor(
    readonly handler: Handler,
    readonly context: HandlerContext,
    /** A pipeline stage's worker: which stage, and whether its answers go on to another. */
    private readonly role?: StageRole,
  ) {}

  static async load(req: LoadRequest, runtime: Runtime, options: WorkerOptions): Promise<ModelHost> {
    const modelDir = path.resolve(req.modelPath);
    let manifest = await readManifest(modelDir, req.modelName);
    let role: StageRole | undefined;
    if (process.env[STAGE_ENV]) ({ manifest, role } = stageManifest(manifest, process.env[STAGE_ENV]));
    // The version the server registered it as (the model_version parameter beats the manifest's).
    if (process.env.MMS_MODEL_VERSION) manifest.model.modelVersion = process.env.MMS_MODEL_VERSION;
    const gpuId = req.gpuId >= 0 ? req.gpuId : null;
    const context: HandlerContext = {
      modelName: req.modelName,
      modelDir,
      manifest,
      batchSize: req.batchSize,
      gpuId,
      system_properties: { model_dir: modelDir, gpu_id: gpuId, batch_size: req.batchSize, server_name: 'MMS', server_version: SERVER_VERSION },
      options,
    };
    const handler = await loadHandler(runtime, req.handler, modelDir);
    // Refused at load, not at every request: a gathering stage needs its handler's gather().
    if (role?.stage.gather && !handler.gather) throw new Error(`Pipeline stage ${role.stage.name} gathers, but its handler has no gather().`);
    await handler.initialize?.(context);
    return new ModelHost(handler, context, role);
  }

  /** The handler's tensor metadata, if it reports any (the Load reply carries it). */
  metadata(): ModelMetadata | undefined {
    return this.handler.metadata?.();
  }

  /** Runs one batch. Throws only when the handler fails as a whole; per-item errors become items. */
  async predict(batch: RequestItem[]): Promise<ReplyItem[]> {
    if (this.role && batch.some((b) => b.headers.some(([h]) => h === GATHER_HEADER))) return this.predictWithGathers(batch);
    const inputs = batch.map(toInput);
    const outputs = await this.handler.handle(inputs, this.context);
    if (!Array.isArray(outputs)) throw badOutput('Invalid model predict output');
    if (outputs.length !== batch.length) throw badOutput('number of batch response mismatched');
    const reply = (o: InferenceOutput, i: number) => (this.role?.handsOn && isItemsOutput(o) ? this.itemsOf(batch[i].requestId, o) : toReplyItem(batch[i].requestId, o));
    // A result JSON cannot write (a BigInt, a cycle): MMS's "Unsupported model output data type." for
    // the whole batch; a pipeline stage's batch mixes requests, so there it fails that request alone.
    if (this.role) return outputs.map((o, i) => this.serialised(batch[i].requestId, () => reply(o, i)));
    try {
      return outputs.map(reply);
    } catch (err) {
      throw unsupported(err);
    }
  }

  /**
   * A stage's reply for one request, or its 503 HANDLER_BAD_OUTPUT when its answer (or items) cannot
   * be written: that request alone fails.
   */
  private serialised(requestId: string, write: () => ReplyItem): ReplyItem {
    try {
      return write();
    } catch (err) {
      return errorItem(requestId, failureOf(err instanceof HandlerError ? err : unsupported(err)));
    }
  }

  /** A non-last stage's items for one request; an Error among them fails the request as an Error answered for it does. */
  private itemsOf(requestId: string, out: { items: unknown }): ReplyItem {
    const failed = Array.isArray(out.items) ? out.items.find((x): x is Error => x instanceof Error) : undefined;
    return failed ? toReplyItem(requestId, failed) : itemsReply(requestId, out);
  }

  /** A batch holding gather requests (a pipeline's last stage): those go to gather, the rest to handle. */
  private async predictWithGathers(batch: RequestItem[]): Promise<ReplyItem[]> {
    const isGather = (b: RequestItem) => b.headers.some(([h]) => h === GATHER_HEADER);
    const rest = batch.filter((b) => !isGather(b));
    const handled = rest.length ? await this.predict(rest) : [];
    let next = 0;
    const out: ReplyItem[] = [];
    for (const b of batch) {
      if (!isGather(b)) {
        out.push(handled[next++]);
        continue;
      }
      let answer: InferenceOutput;
      try {
        if (!this.handler.gather) throw badOutput('The pipeline asks its last stage to gather, but its handler has no gather().');
        answer = await this.handler.gather(toInput(b), this.context);
      } catch (err) {
        out.push(toReplyItem(b.requestId, err instanceof Error ? err : new Error(String(err))));
        continue;
      }
      out.push(this.serialised(b.requestId, () => toReplyItem(b.requestId, answer)));
    }
    return out;
  }
}

async function readManifest(modelDir: string, modelName: string): Promise<Manifest> {
  try {
    return validateManifest(JSON.parse(await readFile(path.join(modelDir, MANIFEST_PATH), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const modelFile = pickModelFile(await readdir(modelDir).catch(() => []));
      return { runtime: 'onnx', model: { modelName, ...(modelFile ? { modelFile } : {}) } };
    }
    throw err;
  }
}

const unsupported = (err: unknown) => badOutput(`Unsupported model output data type: ${(err as Error).message}`);

function toInput(item: RequestItem): InferenceInput {
  const headers: Record<string, string> = {};
  for (const [k, v] of item.headers) headers[k] = v;
  const params: InferenceInput['params'] = {};
  for (const p of item.parameters) params[p.name] = { contentType: p.contentType, value: p.value };
  return { requestId: item.requestId, headers, params };
}

function toReplyItem(requestId: string, out: InferenceOutput): ReplyItem {
  if (out instanceof Error) return errorItem(requestId, failureOf(out));
  const result = isResult(out) ? out : { body: out };
  const headers = Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)] as [string, string]);
  let contentType = result.contentType ?? '';
  let body: Buffer;
  if (Buffer.isBuffer(result.body)) body = result.body;
  else if (result.body instanceof Uint8Array) body = Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength);
  else if (typeof result.body === 'string') body = Buffer.from(result.body);
  else {
    body = Buffer.from(JSON.stringify(result.body, null, 2));
    contentType ||= 'application/json';
  }
  return { requestId, status: result.status ?? 200, reason: result.reason ?? '', contentType, headers, body };
}

function isResult(v: unknown): v is { body: unknown; status?: number; reason?: string; contentType?: string; headers?: Record<string, string> } {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && 'body' in v;
}
