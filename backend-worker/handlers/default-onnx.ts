// The default handler for plain ONNX archives: KServe v2 tensors in, session.run, KServe v2 tensors out.
// A bad item fails alone; the rest of the batch still runs.
import path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../../protocol/manifest.js';
import { createSession, inputSpecs, type InputSpec, type Session } from '../onnx-session.js';
import { HandlerError, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../handler-api.js';
import { buildV2Response, parseV2Request, unknownOutputs } from './kserve-v2.js';

export class OnnxTensorHandler implements Handler {
  private session!: Session;
  private specs: InputSpec[] = [];

  async initialize(ctx: HandlerContext): Promise<void> {
    const file = path.resolve(ctx.modelDir, ctx.manifest.model.modelFile ?? DEFAULT_MODEL_FILE);
    if (!file.startsWith(ctx.modelDir + path.sep)) throw new Error(`model file outside the model directory: ${file}`);
    this.session = await createSession(file, ctx.options);
    this.specs = inputSpecs(this.session);
  }

  async handle(batch: InferenceInput[], ctx: HandlerContext): Promise<InferenceOutput[]> {
    const out: InferenceOutput[] = [];
    for (const item of batch) {
      try {
        const request = parseV2Request(item, this.specs);
        const unknown = unknownOutputs(request, this.session.outputNames);
        if (unknown.length) throw new HandlerError(400, `Unknown output(s): ${unknown.join(', ')}.`);
        const fetches = request.outputs?.map((o) => o.name);
        const results = fetches ? await this.session.run(request.feeds, fetches) : await this.session.run(request.feeds);
        out.push(buildV2Response(ctx.modelName, ctx.manifest.model.modelVersion, request, results));
      } catch (err) {
        out.push(err instanceof HandlerError ? err : new HandlerError(500, `Inference failed: ${(err as Error).message}`));
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session?.release();
  }
}
