// The handlers built into the worker, by the manifest name that selects them. Each is imported only
// when a model asks for it, so a worker loads no tokenizer or image library it does not use.
import type { BuiltInHandler } from '../../protocol/manifest.js';
import type { Handler } from '../handler-api.js';

export const BUILT_IN: Record<BuiltInHandler, () => Promise<Handler>> = {
  onnx: async () => new (await import('./default-onnx.js')).OnnxTensorHandler(),
  tensor: async () => new (await import('./default-onnx.js')).OnnxTensorHandler(),
  ocr: async () => new (await import('./vision/ocr-handler.js')).OcrHandler(),
  ocr_det: async () => new (await import('./vision/ocr-stages.js')).OcrDetStage(),
  ocr_cls: async () => new (await import('./vision/ocr-stages.js')).OcrClsStage(),
  ocr_rec: async () => new (await import('./vision/ocr-stages.js')).OcrRecStage(),
  image_classifier: async () => new (await import('./vision/image-classifier.js')).ImageClassifierHandler(),
  text_embedding: async () => (await import('./nlp/index.js')).createNlpHandler('text_embedding'),
  sentence_embedding: async () => (await import('./nlp/index.js')).createNlpHandler('sentence_embedding'),
  sequence_classification: async () => (await import('./nlp/index.js')).createNlpHandler('sequence_classification'),
  token_classification: async () => (await import('./nlp/index.js')).createNlpHandler('token_classification'),
  question_answering: async () => (await import('./nlp/index.js')).createNlpHandler('question_answering'),
};
