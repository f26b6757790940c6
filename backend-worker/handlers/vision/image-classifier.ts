// Image classification: decode, resize, normalise, run, top-k labels.
import { HandlerError, type Handler } from '../../handler-api.js';

export class ImageClassifierHandler implements Handler {
  handle(): never {
    throw new HandlerError(501, 'The image_classifier handler is not implemented yet.');
  }
}
