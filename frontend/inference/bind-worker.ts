// A front's connection to one worker process of the routing table: opened, then bound to the model the
// worker has loaded already (Load names this front), within the model's response timeout.
import { StatusCode } from '../../protocol/messages.js';
import type { ModelRoute } from '../../protocol/routes.js';
import { WorkerConnection } from '../../protocol/worker-connection.js';
import type { RouterOptions } from './router-options.js';

export async function bindWorker(socketPath: string, route: ModelRoute, o: Pick<RouterOptions, 'maxResponseSize' | 'frontId'>): Promise<WorkerConnection> {
  const conn = await WorkerConnection.connect(socketPath, o.maxResponseSize);
  let timer: NodeJS.Timeout | undefined;
  try {
    const load = conn.send({ kind: 'load', modelName: route.name, modelPath: '', batchSize: route.batchSize, handler: '', gpuId: -1, ioDescriptor: o.frontId });
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer to Load')), route.responseTimeoutMs)));
    const reply = await Promise.race([load, late]);
    if (reply.code !== StatusCode.ok) throw new Error(reply.message);
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
