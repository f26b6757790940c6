// text_embedding: the model's token embeddings (last_hidden_state), shape [tokens, hidden], special
// tokens included, as Mighty's embeddings pipeline answers. sentence_embedding: their mean over the
// tokens (attention-masked, i.e. padding never counts) divided by its L2 norm, as
// sentence-transformers' mean pooling + Normalize does; a graph whose output is already pooled
// ([batch, hidden]) is only normalized.
import { l2Normalize, meanRows, toRows } from './math.js';
import { singleText, type Pipeline } from './model.js';
import { pickOutput } from './runner.js';

const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings'];
const POOLED_OUTPUTS = ['sentence_embedding', 'sentence_embeddings', 'pooled_output'];

export const textEmbedding: Pipeline = singleText((text, enc, out, _fields, model) => {
  const t = pickOutput(out, model.outputNames, TOKEN_OUTPUTS);
  const hidden = t.dims[t.dims.length - 1];
  if (t.dims.length < 2) return { text, shape: [hidden], outputs: Array.from(t.data) };
  return { text, shape: [enc.ids.length, hidden], outputs: toRows(t.data, enc.ids.length, hidden) };
});

export const sentenceEmbedding: Pipeline = singleText((text, enc, out, _fields, model) => {
  const pooledName = POOLED_OUTPUTS.find((n) => model.outputNames.includes(n));
  const t = pooledName ? out[pooledName] : pickOutput(out, model.outputNames, TOKEN_OUTPUTS);
  const hidden = t.dims[t.dims.length - 1];
  const pooled = t.dims.length < 2 ? Array.from(t.data) : meanRows(toRows(t.data, enc.ids.length, hidden));
  return { text, shape: [hidden], outputs: l2Normalize(pooled) };
});
