// The image's HEALTHCHECK: GET /ping on the inference port (SageMaker's, else 8080) answers 200.
const port = process.env.SAGEMAKER_BIND_TO_PORT || process.env.MMS_HEALTHCHECK_PORT || '8080';
try {
  const res = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
