// A model version's key (its name, or `name/version`) and the order versions are listed in. Names
// cannot hold '/', so keys never collide; fronts, the memory budget and the snapshot use the key.

export const modelKey = (name: string, version: string | undefined): string => (version === undefined ? name : `${name}/${version}`);

/** The model name of a key (metrics count per name). */
export const nameOfKey = (key: string): string => key.split('/')[0];

const collator = new Intl.Collator('en', { numeric: true });

/** By name, then version with numbers compared as numbers (1.10 after 1.9); an unversioned model first. */
export function versionsFirst(a: { name: string; version?: string }, b: { name: string; version?: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return collator.compare(a.version ?? '', b.version ?? '');
}
