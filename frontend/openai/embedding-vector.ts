// One input's embedding from its worker reply, as /v1/embeddings answers it. sentence_embedding
// answers the pooled, L2-normalised vector, taken as it is (equal to /predictions); text_embedding
// answers the token embeddings, which are mean-pooled and normalised here (what sentence_embedding
// computes, as KServe's Hugging Face runtime does for its embedding task). `dimensions` keeps the
// first n values and normalises again (OpenAI's text-embedding-3 shortening).
import type { ReplyItem } from '../../protocol/messages.js';
import { ServerError } from '../errors.js';
import type { EncodingFormat } from './embeddings-request.js';
import { invalidParam } from './openai-errors.js';

/** The worker's count of the tokens it ran (backend-worker/handlers/nlp/index.ts). */
const TOKEN_COUNT_HEADER = 'x-token-count';

export interface Embedding {
  vector: number[];
  tokens: number;
}

export function embeddingOf(reply: ReplyItem, model: string): Embedding {
  let outputs: unknown;
  try {
    outputs = (JSON.parse(reply.body.toString('utf8')) as { outputs?: unknown }).outputs;
  } catch {
    outputs = undefined;
  }
  const header = reply.headers.find(([h]) => h === TOKEN_COUNT_HEADER)?.[1];
  const tokens = Number(header ?? 0);
  return { vector: vectorOf(outputs, model), tokens: Number.isSafeInteger(tokens) && tokens >= 0 ? tokens : 0 };
}

function vectorOf(outputs: unknown, model: string): number[] {
  if (isVector(outputs)) return outputs;
  if (Array.isArray(outputs) && outputs.length > 0 && outputs.every(isVector)) {
    const width = outputs[0].length;
    if (outputs.every((row) => row.length === width)) return normalize(meanRows(outputs, width));
  }
  throw new ServerError('HANDLER_BAD_OUTPUT', `Model ${model} answered no embedding (an "outputs" vector or rows of token embeddings).`);
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');

function meanRows(rows: number[][], width: number): number[] {
  const out = new Array<number>(width).fill(0);
  for (const row of rows) for (let c = 0; c < width; c++) out[c] += row[c];
  return out.map((v) => v / rows.length);
}

/** Divided by its L2 norm (clamped at 1e-12, as torch's normalize). */
function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / Math.max(norm, 1e-12));
}

/** The first `dimensions` values, normalised again; 400 when the model's embeddings are shorter. */
export function shorten(vector: number[], dimensions: number | undefined, model: string): number[] {
  if (dimensions === undefined || dimensions === vector.length) return vector;
  if (dimensions > vector.length) {
    throw invalidParam('dimensions', `Model ${model} gives embeddings of ${vector.length} dimensions: "dimensions" must be at most ${vector.length}.`);
  }
  return normalize(vector.slice(0, dimensions));
}

/** As OpenAI sends it: JSON numbers, or base64 of the little-endian float32 values. */
export function encode(vector: number[], format: EncodingFormat): number[] | string {
  if (format === 'float') return vector;
  const buf = Buffer.allocUnsafe(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}
