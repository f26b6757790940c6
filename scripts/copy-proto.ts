// `npm run build`: copies what tsc does not into dist/, so the published package (which ships dist/
// only) and the Docker image carry it: protocol/grpc_predict_v2.proto beside the compiled
// protocol/grpc-proto.js, and the console's static files (frontend/control/console/) beside
// console-routes.js.
import { copyFileSync, cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const to = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
copyFileSync(from('protocol/grpc_predict_v2.proto'), to('protocol/grpc_predict_v2.proto'));
cpSync(from('frontend/control/console'), to('frontend/control/console'), { recursive: true });
