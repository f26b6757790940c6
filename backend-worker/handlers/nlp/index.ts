// NLP pipelines over ONNX models with tokenizer.json + config.json in the archive
// (docs/handlers-nlp.md). One handler per loaded model: every request of a batch is parsed and
// tokenized on its own (a bad one fails alone, with 400 or 413), then all rows of the good ones run
// as one right-padded ORT batch, and each request's answer is built from its rows. Each answer says
// how many tokens its request ran (X-Token-Count; /v1/embeddings reports it as usage).
import { HandlerError, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../../handler-api.js';
import { sentenceEmbedding, textEmbedding } from './embeddings.js';
import { parseRequest } from './input.js';
import { loadModel, type LoadedModel, type Pipeline, type Prepared } from './model.js';
import { questionAnswering } from './question-answering.js';
import { sequenceClassification } from './sequence-classification.js';
import { tokenClassification } from './token-classification.js';

export type NlpTask = 'text_embedding' | 'sentence_embedding' | 'sequence_classification' | 'token_classification' | 'question_answering';

const PIPELINES: Record<NlpTask, Pipeline> = {
  text_embedding: textEmbedding,
  sentence_embedding: sentenceEmbedding,
  sequence_classification: sequenceClassification,
  token_classification: tokenClassification,
  question_answering: questionAnswering,
};

export function createNlpHandler(task: NlpTask): Handler {
  return new NlpHandler(task);
}

class NlpHandler implements Handler {
  private loaded?: LoadedModel;
  private readonly pipeline: Pipeline;

  constructor(readonly task: NlpTask) {
    const pipeline = PIPELINES[task];
    if (!pipeline) throw new Error(`Unknown NLP task ${task}.`);
    this.pipeline = pipeline;
  }

  async initialize(ctx: HandlerContext): Promise<void> {
    this.loaded = await loadModel(ctx);
  }

  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const loaded = this.loaded;
    if (!loaded) throw new HandlerError(503, 'The model is not initialized.');
    const out: InferenceOutput[] = new Array(batch.length);
    const prepared: Array<{ index: number; job: Prepared; firstRow: number }> = [];
    const rows: Prepared['rows'] = [];
    batch.forEach((item, index) => {
      try {
        const job = this.pipeline.prepare(parseRequest(item), loaded.model);
        prepared.push({ index, job, firstRow: rows.length });
        rows.push(...job.rows);
      } catch (err) {
        out[index] = asItemError(err);
      }
    });
    if (prepared.length) {
      let outputs: Awaited<ReturnType<typeof loaded.runner.run>>;
      try {
        outputs = await loaded.runner.run(rows);
      } catch (err) {
        const failure = new HandlerError(500, `Inference failed: ${(err as Error).message}`);
        for (const p of prepared) out[p.index] = failure;
        return out;
      }
      for (const p of prepared) {
        try {
          const body = p.job.finish(outputs.slice(p.firstRow, p.firstRow + p.job.rows.length));
          out[p.index] = { body: JSON.stringify(body), contentType: 'application/json', headers: { [TOKEN_COUNT_HEADER]: String(tokenCount(p.job)) } };
        } catch (err) {
          out[p.index] = asItemError(err);
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.loaded?.session.release();
    this.loaded = undefined;
  }
}

/** The tokens the model ran for a request (every row, special tokens included): /v1/embeddings' usage. */
export const TOKEN_COUNT_HEADER = 'x-token-count';
const tokenCount = (job: Prepared): number => job.rows.reduce((n, r) => n + r.ids.length, 0);

function asItemError(err: unknown): Error {
  return err instanceof HandlerError ? err : new HandlerError(500, (err as Error)?.message ?? String(err));
}
