// max_request_parameters: how many parameters (query values, form fields, multipart parts, or the raw
// body) one request may hand to a worker. Each becomes a protocol field and a handler-side object, so
// the count is checked before anything is parsed or sent: a 2 MB form of tiny fields is 200k of them.

const AMP = 0x26; // '&'

/**
 * The number of pairs URLSearchParams would yield for `text` (non-empty `&`-separated sequences),
 * counted without decoding or allocating; stops counting past `limit`.
 */
export function countPairs(text: Buffer | string, limit: number): number {
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  let count = 0;
  let start = 0;
  while (start <= buf.length && count <= limit) {
    let end = buf.indexOf(AMP, start);
    if (end < 0) end = buf.length;
    if (end > start) count++;
    start = end + 1;
  }
  return count;
}
