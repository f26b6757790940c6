// OCR over PaddleOCR's detection, direction and recognition models.
import { HandlerError, type Handler } from '../../handler-api.js';

export class OcrHandler implements Handler {
  handle(): never {
    throw new HandlerError(501, 'The ocr handler is not implemented yet.');
  }
}
