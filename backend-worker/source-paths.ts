// Native source locations out of error messages. onnxruntime's errors name its build's files
// (`/onnxruntime_src/onnxruntime/core/...h:563 void onnxruntime::...(...) cond was false. `): they tell a
// client nothing and disclose the build; the text after them says what went wrong.

/** `file.cc:123`, with any directory, of a C/C++/CUDA source. */
const LOCATION = /(?:[A-Za-z]:)?[^\s:'"]*\.(?:cc|cpp|cxx|c|h|hpp|cu|cuh):\d+/;
const LOCATIONS = new RegExp(`${LOCATION.source} ?`, 'g');
/** An ORT_ENFORCE: location, function signature and condition, up to `was false.`. */
const ENFORCE = new RegExp(`${LOCATION.source} [^\\n]*? was false\\. ?`, 'g');
/** An ORT_THROW: location and the function signature after it (`Type ns::fn(args) const `). */
const THROWN = new RegExp(`${LOCATION.source} [^()\\n]*\\([^()\\n]*\\)(?: const)? `, 'g');

export function withoutSourcePaths(message: string): string {
  if (!LOCATION.test(message)) return message;
  return message.replace(ENFORCE, '').replace(THROWN, '').replace(LOCATIONS, '').trim();
}
