// The package's own version (package.json, one directory above dist/): the API description's and
// the Open Inference Protocol's server metadata.
import { readFileSync } from 'node:fs';

export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
