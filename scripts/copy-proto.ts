// `npm run build`: puts protocol/grpc_predict_v2.proto beside the compiled protocol/grpc-proto.js in
// dist/, which tsc does not copy, so the published package (which ships dist/ only) carries it.
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../protocol/grpc_predict_v2.proto', import.meta.url));
const to = fileURLToPath(new URL('../protocol/grpc_predict_v2.proto', import.meta.url));
copyFileSync(from, to);
