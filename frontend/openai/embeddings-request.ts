// The body of `POST /v1/embeddings` as OpenAI defines it, checked field by field so every mistake is a
// 400 naming its field (OpenAI's `param`): `{"model", "input": string | string[], "encoding_format":
// "float" | "base64", "dimensions"?, "user"?}`. Token arrays (OpenAI's tiktoken ids) are refused: our
// models have their own tokenizers, and ids of another vocabulary would embed the wrong text silently.
import { badRequest } from '../errors.js';
import { invalidParam } from './openai-errors.js';

export type EncodingFormat = 'float' | 'base64';

export interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  encodingFormat: EncodingFormat;
  /** Truncate each embedding to this many dimensions (and normalise it again); absent: the model's size. */
  dimensions?: number;
}

/** OpenAI's own limit of inputs per request. */
export const MAX_INPUTS = 2048;

export function parseEmbeddingsRequest(body: Buffer, contentType: string): EmbeddingsRequest {
  if (contentType && contentType !== 'application/json' && !contentType.endsWith('+json')) {
    throw badRequest(`Unsupported content type ${contentType}: send the request as application/json.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest('The request body must be a JSON object: {"model": "...", "input": "..."}.');
  }
  const b = parsed as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') throw invalidParam('model', 'Missing required parameter: "model" (a string, the name of a registered model).');
  return { model: b.model, inputs: inputsOf(b.input), encodingFormat: formatOf(b.encoding_format), dimensions: dimensionsOf(b.dimensions) };
}

function inputsOf(input: unknown): string[] {
  if (input === undefined || input === null) throw invalidParam('input', 'Missing required parameter: "input" (a string or an array of strings).');
  const list = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(list)) throw invalidParam('input', '"input" must be a string or an array of strings.');
  if (list.length === 0) throw invalidParam('input', '"input" must not be empty.');
  if (list.length > MAX_INPUTS) throw invalidParam('input', `"input" may hold at most ${MAX_INPUTS} texts, got ${list.length}.`);
  list.forEach((v, i) => {
    const where = typeof input === 'string' ? '"input"' : `"input[${i}]"`;
    if (typeof v === 'number' || (Array.isArray(v) && v.every((t) => typeof t === 'number'))) {
      throw invalidParam('input', 'Token arrays are not supported: send the text; each model tokenizes it with its own tokenizer.');
    }
    if (typeof v !== 'string') throw invalidParam('input', `${where} must be a string.`);
    if (v === '') throw invalidParam('input', `${where} must not be empty.`);
  });
  return list as string[];
}

function formatOf(v: unknown): EncodingFormat {
  if (v === undefined || v === null) return 'float';
  if (v === 'float' || v === 'base64') return v;
  throw invalidParam('encoding_format', '"encoding_format" must be "float" or "base64".');
}

function dimensionsOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return v;
  throw invalidParam('dimensions', '"dimensions" must be a whole number of at least 1.');
}
