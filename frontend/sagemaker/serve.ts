// SageMaker's `serve` (docker/entrypoint.sh): the model server configured from SageMaker's
// environment (sagemaker-env.ts), run in this process so the init's SIGTERM reaches it directly.
import { runServer } from '../main.js';
import { sageMakerStart } from './sagemaker-env.js';

let start;
try {
  start = sageMakerStart(process.env);
} catch (err) {
  process.stderr.write(`Invalid configuration: ${(err as Error).message}\n`);
  process.exit(1);
}
process.stdout.write(`SageMaker ${start.multiModel ? 'multi-model' : 'single-model'} mode\n`);
await runServer({ overrides: start.overrides, env: process.env });
