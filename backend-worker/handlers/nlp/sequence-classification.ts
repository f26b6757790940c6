// sequence_classification: logits of the whole text, their scores (softmax, or sigmoid for
// multi-label and single-label-regression models, as transformers' TextClassificationPipeline
// chooses) and every label with its score, best first, names from config.json's id2label.
import { sigmoid, softmax } from './math.js';
import { labelOf, singleText, type Pipeline } from './model.js';
import { pickOutput } from './runner.js';

export const sequenceClassification: Pipeline = singleText((text, _enc, out, _fields, model) => {
  const t = pickOutput(out, model.outputNames, ['logits']);
  const logits = Array.from(t.data);
  const multiLabel = model.config.problem_type === 'multi_label_classification' || logits.length === 1;
  const scores = multiLabel ? sigmoid(logits) : softmax(logits);
  const labels = scores.map((score, i) => ({ label: labelOf(model.config, i), score })).sort((a, b) => b.score - a.score);
  return { text, logits, scores, labels };
});
