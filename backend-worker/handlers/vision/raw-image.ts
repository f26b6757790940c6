// Decoded images as plain RGB bytes, and the few pixel operations the vision handlers need:
// resizing through sharp, and an affine crop (rotated boxes) with bilinear sampling in JS.
import sharp from 'sharp';

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

/** Channels are always 3 (RGB). */
export const CHANNELS = 3;

export async function resize(img: RawImage, width: number, height: number): Promise<RawImage> {
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: CHANNELS } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { data, width, height };
}

export function rotate180(img: RawImage): RawImage {
  const out = Buffer.allocUnsafe(img.data.length);
  const px = img.width * img.height;
  for (let i = 0; i < px; i++) {
    const j = px - 1 - i;
    out[j * 3] = img.data[i * 3];
    out[j * 3 + 1] = img.data[i * 3 + 1];
    out[j * 3 + 2] = img.data[i * 3 + 2];
  }
  return { data: out, width: img.width, height: img.height };
}

/**
 * Samples the parallelogram with corner `origin` and edge vectors `u` (along the output's width)
 * and `v` (along its height) into a width × height image.
 */
export function cropAffine(
  img: RawImage,
  origin: [number, number],
  u: [number, number],
  v: [number, number],
  width: number,
  height: number,
): RawImage {
  const out = Buffer.alloc(width * height * 3);
  const { data, width: W, height: H } = img;
  for (let y = 0; y < height; y++) {
    const fy = (y + 0.5) / height;
    for (let x = 0; x < width; x++) {
      const fx = (x + 0.5) / width;
      const sx = Math.min(W - 1, Math.max(0, origin[0] + u[0] * fx + v[0] * fy - 0.5));
      const sy = Math.min(H - 1, Math.max(0, origin[1] + u[1] * fx + v[1] * fy - 0.5));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(W - 1, x0 + 1);
      const y1 = Math.min(H - 1, y0 + 1);
      const ax = sx - x0;
      const ay = sy - y0;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(y0 * W + x0) * 3 + c] * (1 - ax) + data[(y0 * W + x1) * 3 + c] * ax;
        const bottom = data[(y1 * W + x0) * 3 + c] * (1 - ax) + data[(y1 * W + x1) * 3 + c] * ax;
        out[o + c] = Math.round(top * (1 - ay) + bottom * ay);
      }
    }
  }
  return { data: out, width, height };
}

/**
 * HWC bytes → CHW float32 with (x / 255 − mean) / std, written into `out` at `offset`, `dstWidth`
 * wide and `dstHeight` high (columns and rows past the image stay as they are: zero padding).
 */
export function toChw(
  img: RawImage,
  mean: readonly number[],
  std: readonly number[],
  out: Float32Array,
  offset = 0,
  dstWidth = img.width,
  bgr = false,
  dstHeight = img.height,
): void {
  const plane = dstHeight * dstWidth;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      const o = offset + y * dstWidth + x;
      for (let c = 0; c < 3; c++) {
        const src = bgr ? 2 - c : c;
        out[o + c * plane] = (img.data[i + src] / 255 - mean[c]) / std[c];
      }
    }
  }
}
