// Joins the lines of one multi-line message on a worker's stdout/stderr (a stack trace, an error's
// properties) into one log record: logged line by line, each frame became its own record, which in
// pretty mode reads as a trace cut into unrelated lines.
import type { Interface } from 'node:readline';

/** Indented lines (`    at f (file:1:2)`, properties), a closing brace and blank lines continue a message. */
const CONTINUATION = /^(\s|\}$|$)/;

/**
 * Calls `emit` once per message read from `lines`. A message ends at the next line that does not
 * continue it, or when the stream has no more lines ready (a trace is written at once, so its lines
 * arrive together), or when the stream ends.
 */
export function groupLines(lines: Interface, emit: (message: string) => void): void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    while (pending.length && pending[pending.length - 1].trim() === '') pending.pop();
    if (pending.length) emit(pending.join('\n'));
    pending = [];
  };
  lines.on('line', (line) => {
    if (pending.length && !CONTINUATION.test(line)) flush();
    if (!pending.length && line.trim() === '') return; // a lone blank line says nothing
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => scheduled && flush());
    }
  });
  lines.once('close', flush);
}
