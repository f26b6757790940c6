// token_classification: a port of transformers' TokenClassificationPipeline postprocessing.
// Per-token softmax scores; special tokens skipped; `none` gives one entity per token, `simple`
// groups B-/I- runs of the same tag, `first`/`average`/`max` first fuse the tokens of each word
// (subwords detected as transformers does) and then group; entities labelled O are dropped.
import type { Encoding } from './encoding.js';
import type { AggregationStrategy } from './input.js';
import { argmax, softmax } from './math.js';
import { labelOf, singleText, type NlpModel, type Pipeline } from './model.js';
import { pickOutput } from './runner.js';

interface PreEntity {
  word: string;
  scores: number[];
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

interface TokenEntity {
  entity: string;
  score: number;
  index?: number;
  word: string;
  start: number;
  end: number;
}

export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

const IGNORE_LABELS = ['O'];

export const tokenClassification: Pipeline = singleText((text, enc, out, fields, model) => {
  const strategy = fields.aggregationStrategy ?? model.options.aggregationStrategy;
  const t = pickOutput(out, model.outputNames, ['logits']);
  const classes = t.dims[t.dims.length - 1];
  const scores = enc.ids.map((_, i) => softmax(t.data.subarray(i * classes, (i + 1) * classes)));
  const pre = preEntities(text, enc, scores, model);
  const entities = aggregate(pre, strategy, model).filter((e) => !IGNORE_LABELS.includes('entity' in e ? e.entity : e.entity_group));
  return { text, aggregation_strategy: strategy, entities };
});

/** gather_pre_entities: one entry per non-special token, with the word it was cut from. */
function preEntities(text: string, enc: Encoding, scores: number[][], model: NlpModel): PreEntity[] {
  const chars = Array.from(text);
  const aligner = model.tokenizer.aligner;
  const out: PreEntity[] = [];
  for (let idx = 0; idx < enc.ids.length; idx++) {
    if (enc.sequenceIds[idx] === null) continue;
    let word = enc.tokens[idx];
    const [start, end] = enc.offsets[idx];
    const wordRef = chars.slice(start, end).join('');
    let isSubword: boolean;
    if (aligner.subwordPrefix) {
      // A word-aware tokenizer: a token whose text differs in length from its source carries "##".
      isSubword = Array.from(word).length !== end - start;
    } else {
      isSubword = start > 0 && !chars.slice(start - 1, start + 1).includes(' ');
    }
    if (enc.ids[idx] === aligner.unkId) {
      word = wordRef;
      isSubword = false;
    }
    out.push({ word, scores: scores[idx], start, end, index: idx, isSubword });
  }
  return out;
}

function aggregate(pre: PreEntity[], strategy: AggregationStrategy, model: NlpModel): Array<TokenEntity | EntityGroup> {
  let entities: TokenEntity[];
  if (strategy === 'none' || strategy === 'simple') {
    entities = pre.map((p) => {
      const i = argmax(p.scores);
      return { entity: labelOf(model.config, i), score: p.scores[i], index: p.index, word: p.word, start: p.start, end: p.end };
    });
  } else {
    entities = aggregateWords(pre, strategy, model);
  }
  return strategy === 'none' ? entities : groupEntities(entities, model);
}

function aggregateWords(pre: PreEntity[], strategy: 'first' | 'average' | 'max', model: NlpModel): TokenEntity[] {
  const words: PreEntity[][] = [];
  for (const p of pre) {
    if (words.length && p.isSubword) words[words.length - 1].push(p);
    else words.push([p]);
  }
  return words.map((tokens) => {
    let scores: number[];
    if (strategy === 'first') {
      scores = tokens[0].scores;
    } else if (strategy === 'max') {
      let best = tokens[0];
      for (const t of tokens) if (Math.max(...t.scores) > Math.max(...best.scores)) best = t;
      scores = best.scores;
    } else {
      scores = tokens[0].scores.map((_, c) => tokens.reduce((s, t) => s + t.scores[c], 0) / tokens.length);
    }
    const i = argmax(scores);
    return {
      entity: labelOf(model.config, i),
      score: scores[i],
      word: model.tokenizer.aligner.tokensToString(tokens.map((t) => t.word)),
      start: tokens[0].start,
      end: tokens[tokens.length - 1].end,
    };
  });
}

/** B-X starts a group, I-X continues a group of X; a label without a prefix counts as I-. */
function tag(entity: string): [bi: 'B' | 'I', tag: string] {
  if (entity.startsWith('B-')) return ['B', entity.slice(2)];
  if (entity.startsWith('I-')) return ['I', entity.slice(2)];
  return ['I', entity];
}

function groupEntities(entities: TokenEntity[], model: NlpModel): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let current: TokenEntity[] = [];
  const flush = () => {
    if (!current.length) return;
    const scores = current.map((e) => e.score);
    groups.push({
      entity_group: current[0].entity.split('-').slice(1).join('-') || current[0].entity,
      score: scores.reduce((a, b) => a + b, 0) / scores.length,
      word: model.tokenizer.aligner.tokensToString(current.map((e) => e.word)),
      start: current[0].start,
      end: current[current.length - 1].end,
    });
  };
  for (const e of entities) {
    if (current.length) {
      const [bi, t] = tag(e.entity);
      const [, lastTag] = tag(current[current.length - 1].entity);
      if (t === lastTag && bi !== 'B') {
        current.push(e);
        continue;
      }
      flush();
    }
    current = [e];
  }
  flush();
  return groups;
}
