// NLP pipelines over ONNX models with tokenizer.json + config.json in the archive.
import { HandlerError, type Handler } from '../../handler-api.js';

export type NlpTask = 'text_embedding' | 'sentence_embedding' | 'sequence_classification' | 'token_classification' | 'question_answering';

export function createNlpHandler(task: NlpTask): Handler {
  return {
    handle: () => {
      throw new HandlerError(501, `The ${task} pipeline is not implemented yet.`);
    },
  };
}
