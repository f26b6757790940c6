// The max_response_size check on each reply item: the frontend's FrameReader refuses a field over
// that size and would drop the whole connection, so an oversized answer becomes that request's own
// 500 instead, code RESPONSE_TOO_LARGE (docs/protocol.md "Limits and failures").
import { errorItem, type ReplyItem } from '../protocol/messages.js';

export function capReplyItem(item: ReplyItem, max: number): ReplyItem {
  if (item.body.length <= max) return item;
  const message = `Response of ${item.body.length} bytes exceeds max_response_size (${max} bytes).`;
  return errorItem(item.requestId, { status: 500, type: 'InternalServerException', message, code: 'RESPONSE_TOO_LARGE' });
}
