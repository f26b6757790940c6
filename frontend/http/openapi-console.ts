// The OpenAPI description of the live console's routes (management listener, docs/api.md, "Console"):
// its page and files, and the summary the page samples; merged into openapi.ts's route table.
import { arr, int, obj, param, ref, str, type Json, type Route } from './openapi-kit.js';

const num = (): Json => ({ type: 'number' });
const histogram = (description: string): Json =>
  obj({ sum: num(), count: num(), buckets: arr(arr(num())) }, ['sum', 'count', 'buckets'], {
    description: `${description} Cumulative since each front started, summed over the fronts; buckets are [upper bound, count] pairs.`,
  });

const OPS = {
  page: (): Json => ({
    operationId: 'consolePage',
    summary: 'Live console: models, workers, request rates and latency, GPU memory; scale and unregister.',
    responses: { 200: { description: 'HTML page.', content: { 'text/html': { schema: str() } } } },
  }),
  asset: (): Json => ({
    operationId: 'consoleAsset',
    summary: "The console's scripts, style sheet or page.",
    parameters: [param('file', 'path', str(), 'console.js, charts.js, console.css or index.html.')],
    responses: { 200: { description: 'The file.', content: { '*/*': { schema: str() } } }, 404: { $ref: '#/components/responses/NotFound' } },
  }),
  summary: (): Json => ({
    operationId: 'consoleSummary',
    summary: 'What the console shows, in one sample: every model version as describe shows it, request counters per model, GPU memory.',
    responses: {
      200: {
        description: 'One sample; the page turns two into rates.',
        content: {
          'application/json': {
            schema: obj({
              time: int({ description: 'Epoch milliseconds of the sample.' }),
              models: arr(ref('DescribeModelResponse')),
              traffic: {
                type: 'object',
                description: 'By model name.',
                additionalProperties: obj({
                  requests: num(),
                  errors: num(),
                  latency: histogram('Arrival-to-response seconds.'),
                  queueWait: histogram("Seconds in a worker's queue."),
                  queueDepth: num(),
                }),
              },
              gpus: arr(obj({ id: int(), name: str(), memoryUsedBytes: num(), memoryTotalBytes: num(), utilization: num() })),
            }, ['time', 'models', 'traffic', 'gpus']),
          },
        },
      },
      401: { description: 'Token authorization is on and the management key is missing or wrong.' },
      403: { description: 'Host or Origin not allowed for the management API.' },
    },
  }),
};

export const CONSOLE_ROUTES: readonly Route[] = [
  { method: 'get', path: '/console', on: ['management'], op: OPS.page },
  { method: 'get', path: '/console/api/summary', on: ['management'], op: OPS.summary },
  { method: 'get', path: '/console/{file}', on: ['management'], op: OPS.asset },
];
