// What a pipeline needs from the archive: the ONNX session, the tokenizer (tokenizer.json +
// tokenizer_config.json), config.json (labels, maximum length, problem type) and the manifest's
// model.extensions options. Also the small contract each pipeline implements.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../../../protocol/manifest.js';
import type { HandlerContext } from '../../handler-api.js';
import { createSession, type Session } from '../../onnx-session.js';
import { maxLengthOf, NlpTokenizer, type Encoding } from './encoding.js';
import { optionalStrategy, requireText, type AggregationStrategy, type RequestFields } from './input.js';
import { BatchRunner, type Row, type RowOutputs } from './runner.js';

export interface NlpOptions {
  /** Truncate over-long inputs even when the request does not ask (extensions.truncation). */
  truncation: boolean;
  /** Token classification's default (extensions.aggregationStrategy); transformers' is none. */
  aggregationStrategy: AggregationStrategy;
  /** Longest answer in tokens (extensions.maxAnswerLength), 15 as in transformers. */
  maxAnswerLength: number;
  /** Overlap of question-answering context windows in tokens (extensions.docStride). */
  docStride?: number;
}

export interface NlpModel {
  tokenizer: NlpTokenizer;
  config: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  outputNames: readonly string[];
  options: NlpOptions;
}

/** One request turned into model rows, and the answer built from those rows' outputs. */
export interface Prepared {
  rows: Row[];
  finish(outputs: RowOutputs[]): unknown;
}

export interface Pipeline {
  prepare(fields: RequestFields, model: NlpModel): Prepared;
}

/** A pipeline over one text: tokenized once (truncated if asked), one row, answered from its outputs. */
export function singleText(answer: (text: string, enc: Encoding, out: RowOutputs, fields: RequestFields, model: NlpModel) => unknown): Pipeline {
  return {
    prepare(fields, model) {
      const text = requireText(fields);
      const enc = model.tokenizer.encode(text, fields.truncation ?? model.options.truncation);
      return { rows: [enc], finish: ([out]) => answer(text, enc, out, fields, model) };
    },
  };
}

export interface LoadedModel {
  model: NlpModel;
  runner: BatchRunner;
  session: Session;
}

export async function loadModel(ctx: HandlerContext): Promise<LoadedModel> {
  const file = inside(ctx.modelDir, ctx.manifest.model.modelFile ?? DEFAULT_MODEL_FILE);
  const tokenizerJson = await readJson(ctx.modelDir, 'tokenizer.json', true);
  const tokenizerConfig = await readJson(ctx.modelDir, 'tokenizer_config.json', false);
  const config = await readJson(ctx.modelDir, 'config.json', false);
  const options = readOptions(ctx.manifest.model.extensions ?? {});
  const maxLength = maxLengthOf(config, tokenizerConfig, options.maxLength);
  const tokenizer = NlpTokenizer.fromJson(tokenizerJson, tokenizerConfig, maxLength);
  const session = await createSession(file, ctx.options);
  try {
    const runner = new BatchRunner(session, padId(config, tokenizerConfig, tokenizer));
    return { model: { tokenizer, config, tokenizerConfig, outputNames: session.outputNames, options }, runner, session };
  } catch (err) {
    await session.release();
    throw err;
  }
}

function inside(dir: string, name: string): string {
  const file = path.resolve(dir, name);
  if (!file.startsWith(dir + path.sep)) throw new Error(`File outside the model directory: ${name}`);
  return file;
}

async function readJson(dir: string, name: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(inside(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`The archive has no ${name}; the NLP handlers need it.`);
    throw err;
  }
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${name} is not a JSON object.`);
  return value as Record<string, unknown>;
}

function readOptions(ext: Record<string, unknown>): NlpOptions & { maxLength?: number } {
  const int = (name: string, min: number): number | undefined => {
    const v = ext[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`model.extensions.${name} must be an integer of at least ${min}.`);
    return v;
  };
  if (ext.truncation !== undefined && typeof ext.truncation !== 'boolean') throw new Error('model.extensions.truncation must be true or false.');
  let aggregationStrategy: AggregationStrategy;
  try {
    aggregationStrategy = optionalStrategy(ext.aggregationStrategy) ?? 'none';
  } catch {
    throw new Error('model.extensions.aggregationStrategy must be one of none, simple, first, average, max.');
  }
  return {
    truncation: ext.truncation === true,
    aggregationStrategy,
    maxAnswerLength: int('maxAnswerLength', 1) ?? 15,
    docStride: int('docStride', 0),
    maxLength: int('maxLength', 3),
  };
}

function padId(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, tokenizer: NlpTokenizer): number {
  if (typeof config.pad_token_id === 'number') return config.pad_token_id;
  const pad = tokenText(tokenizerConfig.pad_token);
  return (pad !== undefined ? tokenizer.idOf(pad) : undefined) ?? 0;
}

/** A special token from tokenizer_config.json: a string or an AddedToken object {content}. */
export function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** config.json's id2label name of class `i`, else transformers' LABEL_i. */
export function labelOf(config: Record<string, unknown>, i: number): string {
  const map = config.id2label as Record<string, unknown> | undefined;
  const v = map?.[String(i)];
  return typeof v === 'string' ? v : `LABEL_${i}`;
}
