// What a failed session.run means for the request. onnxruntime-node throws plain Errors, only a
// message and no status code, so the message decides: a kernel that failed on these tensors (shapes
// that do not broadcast, an image smaller than a kernel, an index out of range) and ORT's own input
// checks are the client's (400 INVALID_INPUT); memory and device failures stay the server's (an
// allocation that failed: 507 OUT_OF_MEMORY; others 500).
// Neither message keeps onnxruntime's source paths.
import { HandlerError, invalidInput, outOfMemory } from './handler-api.js';
import { withoutSourcePaths } from './source-paths.js';

/** A kernel's failure as ORT's executor wraps it (sequential_executor.cc). */
const KERNEL_FAILED = /^Non-zero status code returned while running (\S+) node\. Name:'([^']*)' Status Message: /;
/** ORT's checks of the feeds before a run (INVALID_ARGUMENT). */
const INPUT_REFUSED = /^(?:Got invalid dimensions for input|Invalid rank for input|Unexpected input data type|input '[^']*' is missing in 'feeds')/;
/** Failures no input is to blame for, even inside a kernel. */
const RESOURCE = /alloc|out of memory|bad_alloc|CUDA|CUBLAS|CUDNN|TensorRT/i;
/** ORT's arenas (CPU and CUDA) and the C++ runtime when memory runs out. */
const OUT_OF_MEMORY = /Failed to allocate memory|out of memory|bad_alloc/i;

export function runError(err: unknown): HandlerError {
  if (err instanceof HandlerError) return err;
  const message = withoutSourcePaths((err as Error)?.message ?? String(err)).replace(/\s*\n\s*/g, ' ');
  if (!RESOURCE.test(message)) {
    const kernel = KERNEL_FAILED.exec(message);
    if (kernel) return invalidInput(`The model cannot run on these inputs: ${kernel[1]} node '${kernel[2]}': ${message.slice(kernel[0].length)}`);
    if (INPUT_REFUSED.test(message)) return invalidInput(`The model cannot run on these inputs: ${message}`);
  }
  if (OUT_OF_MEMORY.test(message)) return outOfMemory(`Out of resources: ${message}`);
  return new HandlerError(500, `Inference failed: ${message}`);
}
