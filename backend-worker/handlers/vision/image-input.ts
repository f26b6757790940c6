// The image of a request: the raw body or the first file part, checked before it is decoded. The
// pixel count comes from the header alone, so a huge image is refused (413) without decoding it.
import sharp, { type Metadata } from 'sharp';
import { HandlerError, type InferenceInput } from '../../handler-api.js';
import type { RawImage } from './raw-image.js';

/** Default cap: 40 megapixels. A manifest may set model.extensions.maxPixels. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export function imageBytes(item: InferenceInput): Buffer {
  const params = Object.entries(item.params);
  const part =
    params.find(([, p]) => p.contentType.startsWith('image/')) ??
    params.find(([name]) => name === 'body' || name === 'data' || name === 'file' || name === 'image');
  const bytes = part?.[1].value;
  if (!bytes || bytes.length === 0) throw new HandlerError(400, 'Request has no image: send PNG, JPEG or WebP bytes as the body or a multipart file.');
  return bytes;
}

/** `trim` cuts away a uniform border (e.g. the page around a line of text) before anything else. */
export async function decodeImage(bytes: Buffer, maxPixels = DEFAULT_MAX_PIXELS, trim = false): Promise<RawImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new HandlerError(400, 'Request body is not a supported image (PNG, JPEG, WebP, GIF, TIFF or AVIF).');
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > maxPixels) {
    throw new HandlerError(413, `Image of ${width}×${height} pixels exceeds the limit of ${maxPixels} pixels.`);
  }
  if (trim) bytes = await sharp(bytes).rotate().trim().png({ compressionLevel: 0 }).toBuffer().catch(() => bytes);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate() // honour EXIF orientation
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels === 3) return { data, width: info.width, height: info.height };
    return expandToRgb(data, info.width, info.height, info.channels);
  } catch (err) {
    throw new HandlerError(400, `Cannot decode image: ${(err as Error).message}`);
  }
}

function expandToRgb(data: Buffer, width: number, height: number, channels: number): RawImage {
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = data[i * channels];
    out[i * 3] = v;
    out[i * 3 + 1] = channels > 1 ? data[i * channels + 1] : v;
    out[i * 3 + 2] = channels > 2 ? data[i * channels + 2] : v;
  }
  return { data: out, width, height };
}
