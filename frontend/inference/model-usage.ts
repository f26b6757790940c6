// Which models are in use: requests in flight and the time of the last one, per model, as an
// inference front (or the controller serving inference itself) sees them. The controller asks for it
// when a load needs memory, to unload only idle models, least recently used first
// (docs/deploy.md, Memory budget).

export interface UsageEntry {
  inFlight: number;
  /** Epoch ms when a request for the model last arrived or finished. */
  lastUsed: number;
}

export type UsageMap = Record<string, UsageEntry>;

export class ModelUsage {
  private readonly models = new Map<string, UsageEntry>();

  begin(model: string): void {
    const e = this.models.get(model) ?? { inFlight: 0, lastUsed: 0 };
    e.inFlight++;
    e.lastUsed = Date.now();
    this.models.set(model, e);
  }

  end(model: string): void {
    const e = this.models.get(model);
    if (!e) return;
    e.inFlight = Math.max(0, e.inFlight - 1);
    e.lastUsed = Date.now();
  }

  /** Forgets models no longer served (the routing table's names), unless requests are still in flight. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const [name, e] of this.models) if (!keep.has(name) && e.inFlight === 0) this.models.delete(name);
  }

  snapshot(): UsageMap {
    return Object.fromEntries([...this.models].map(([name, e]) => [name, { ...e }]));
  }
}

/** Several fronts' views as one: requests in flight add up, the latest use wins. */
export function mergeUsage(maps: UsageMap[]): UsageMap {
  const out: UsageMap = {};
  for (const map of maps) {
    for (const [name, e] of Object.entries(map)) {
      const o = (out[name] ??= { inFlight: 0, lastUsed: 0 });
      o.inFlight += e.inFlight;
      o.lastUsed = Math.max(o.lastUsed, e.lastUsed);
    }
  }
  return out;
}
