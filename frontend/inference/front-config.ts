// The settings a front runs with: the controller's ServerConfig (less what only the controller uses)
// and the front's own place among the fronts, handed over in one environment variable at fork.
import type { FrontSettings } from '../../protocol/routes.js';
import type { ServerConfig } from '../config/server-config.js';

export type FrontConfig = Omit<ServerConfig, 'allowedUrls' | 'blacklistEnvVars'> & { front: FrontSettings };

const ENV = 'MMS_FRONT_CONFIG';

export function frontEnv(config: ServerConfig, front: FrontSettings): Record<string, string> {
  const { allowedUrls: _urls, blacklistEnvVars: _blacklist, ...rest } = config;
  return { [ENV]: JSON.stringify({ ...rest, front } satisfies FrontConfig) };
}

export function readFrontConfig(env: NodeJS.ProcessEnv): FrontConfig {
  const raw = env[ENV];
  if (!raw) throw new Error(`${ENV} is not set: fronts are started by the controller`);
  return JSON.parse(raw) as FrontConfig;
}
