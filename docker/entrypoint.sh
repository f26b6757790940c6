#!/bin/sh
# The image's entrypoint, run by tini (PID 1). `serve` is how SageMaker starts a container: the
# server configured from SageMaker's environment (docs/deploy.md, SageMaker). Anything else runs as
# given (the default command: multi-model-server --start --foreground).
set -e
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" = "serve" ]; then
  shift
  exec node "$root/dist/frontend/sagemaker/serve.js" "$@"
fi
exec "$@"
