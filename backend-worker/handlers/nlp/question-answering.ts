// question_answering: a port of transformers' QuestionAnsweringPipeline for fast tokenizers.
// [CLS] question [SEP] context [SEP]; start and end logits of everything but the context are masked
// to -10000 before the softmaxes (as transformers 5.x scores: [CLS] takes no part in the softmax,
// unlike 4.x, which kept it for unanswerable questions), and the best span
// (start <= end < start + max_answer_len) maximises p_start * p_end. The answer's character
// span is widened to whole words (align_to_words) and cut from the context. A context longer than
// the model takes is refused (413) unless truncation is asked for; then it is split into windows
// overlapping by doc_stride tokens, as transformers does, and the best window's answer wins.
import { HandlerError } from '../../handler-api.js';
import { tooLong, type Encoding } from './encoding.js';
import type { RequestFields } from './input.js';
import { softmax } from './math.js';
import type { NlpModel, Pipeline } from './model.js';
import { pickOutput, type RowOutputs } from './runner.js';

export interface Answer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

export const questionAnswering: Pipeline = {
  prepare(fields, model) {
    const { question, context } = requireQa(fields);
    const tokenizer = model.tokenizer;
    const q = tokenizer.pieces(question);
    const c = tokenizer.pieces(context);
    const full = tokenizer.assemble(q, c);
    let windows: Encoding[] = [full];
    if (full.ids.length > tokenizer.maxLength) {
      if (!(fields.truncation ?? model.options.truncation)) throw tooLong(full.ids.length, tokenizer.maxLength);
      const specials = full.ids.length - q.length - c.length;
      const size = tokenizer.maxLength - q.length - specials;
      if (size < 1) throw new HandlerError(413, `The question alone is ${q.length + specials} tokens long; the model takes at most ${tokenizer.maxLength}.`);
      const docStride = model.options.docStride ?? Math.min(Math.floor(tokenizer.maxLength / 2), 128);
      const step = size - Math.min(docStride, size - 1);
      windows = [];
      for (let from = 0; ; from += step) {
        windows.push(tokenizer.assemble(q, c.slice(from, from + size)));
        if (from + size >= c.length) break;
      }
    }
    return {
      rows: windows,
      finish(outputs) {
        let best: Answer | undefined;
        outputs.forEach((out, w) => {
          const answer = bestSpan(windows[w], out, context, model);
          if (answer && (!best || answer.score > best.score)) best = answer;
        });
        if (!best) return { answer: '', score: 0, start: 0, end: 0 };
        return best;
      },
    };
  },
};

function requireQa(fields: RequestFields): { question: string; context: string } {
  if (fields.question === undefined) throw new HandlerError(400, 'Missing "question".');
  if (fields.context === undefined) throw new HandlerError(400, 'Missing "context".');
  if (!fields.question.trim()) throw new HandlerError(400, '"question" must not be empty.');
  if (!fields.context.trim()) throw new HandlerError(400, '"context" must not be empty.');
  return { question: fields.question, context: fields.context };
}

/** select_starts_ends + decode_spans (top_k 1) + get_indices for one window. */
function bestSpan(enc: Encoding, out: RowOutputs, context: string, model: NlpModel): Answer | undefined {
  const startT = pickOutput(out, model.outputNames, ['start_logits'], 0);
  const endT = pickOutput(out, model.outputNames, ['end_logits'], 1);
  const n = enc.ids.length;
  // p_mask: only context tokens can be part of an answer.
  const wanted = enc.sequenceIds.map((seq) => seq === 1);
  const masked = (data: Float32Array) => Array.from({ length: n }, (_, i) => (wanted[i] ? data[i] : -10000));
  const pStart = softmax(masked(startT.data));
  const pEnd = softmax(masked(endT.data));
  pStart[0] = 0; // "Mask CLS"
  pEnd[0] = 0;
  let best: { s: number; e: number; score: number } | undefined;
  for (let s = 0; s < n; s++) {
    if (!wanted[s]) continue;
    for (let e = s; e < Math.min(n, s + model.options.maxAnswerLength); e++) {
      if (!wanted[e]) continue;
      const score = pStart[s] * pEnd[e];
      if (!best || score > best.score) best = { s, e, score };
    }
  }
  if (!best || enc.sequenceIds[best.s] !== 1 || enc.sequenceIds[best.e] !== 1) return undefined;
  const [start, end] = alignToWords(enc, best.s, best.e);
  return { answer: Array.from(context).slice(start, end).join(''), score: best.score, start, end };
}

/** The character span from the start of token s's word to the end of token e's word. */
function alignToWords(enc: Encoding, s: number, e: number): [number, number] {
  const ws = enc.wordIds[s];
  const we = enc.wordIds[e];
  let start = enc.offsets[s][0];
  let end = enc.offsets[e][1];
  for (let i = 0; i < enc.ids.length; i++) {
    if (enc.sequenceIds[i] !== 1) continue;
    if (enc.wordIds[i] === ws) start = Math.min(start, enc.offsets[i][0]);
    if (enc.wordIds[i] === we) end = Math.max(end, enc.offsets[i][1]);
  }
  return [start, end];
}
