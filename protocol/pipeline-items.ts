// The body of a pipeline stage's reply that holds several items for the next stage (content type
// `application/x-mms-items`, docs/pipelines.md "Items between stages"): big-endian
//   u32 items; per item: u32 parts; per part: u16 name length, name, u16 type length, type, u32 value length, value
// Names and types are UTF-8. Values are referenced, not copied, when decoded.

export interface ItemPart {
  name: string;
  /** Empty string = none. */
  contentType: string;
  value: Buffer;
}

export type Item = ItemPart[];

export function encodeItems(items: readonly Item[]): Buffer {
  const chunks: Buffer[] = [u32(items.length)];
  for (const item of items) {
    chunks.push(u32(item.length));
    for (const p of item) {
      const name = Buffer.from(p.name);
      const type = Buffer.from(p.contentType);
      if (name.length > 0xffff || type.length > 0xffff) throw new Error(`item part name or content type too long: ${p.name.slice(0, 40)}`);
      chunks.push(u16(name.length), name, u16(type.length), type, u32(p.value.length), p.value);
    }
  }
  return Buffer.concat(chunks);
}

/** The most items one request's stages may hand on in all: a fan-out past it fails the request before its items are read. */
export const MAX_REQUEST_ITEMS = 10_000;

/** A body that declares more items than the request has room for. */
export class TooManyItemsError extends Error {}

/** Throws on a body that is not well formed (a stage that wrote its own bytes under this type), or that declares more than `max` items. */
export function decodeItems(body: Buffer, max = Infinity): Item[] {
  let at = 0;
  const need = (n: number) => {
    if (at + n > body.length) throw new Error('pipeline items body ends early');
  };
  const readU32 = () => {
    need(4);
    const v = body.readUInt32BE(at);
    at += 4;
    return v;
  };
  const readU16 = () => {
    need(2);
    const v = body.readUInt16BE(at);
    at += 2;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const v = body.subarray(at, at + n);
    at += n;
    return v;
  };
  const count = readU32();
  if (count > max) throw new TooManyItemsError(`${count} items`);
  const items: Item[] = [];
  for (let i = 0; i < count; i++) {
    const parts = readU32();
    const item: Item = [];
    for (let j = 0; j < parts; j++) {
      const name = bytes(readU16()).toString('utf8');
      const contentType = bytes(readU16()).toString('utf8');
      item.push({ name, contentType, value: bytes(readU32()) });
    }
    items.push(item);
  }
  if (at !== body.length) throw new Error('pipeline items body has bytes after its last item');
  return items;
}

const u32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n);
  return b;
};
