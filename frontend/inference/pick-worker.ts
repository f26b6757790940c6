// Which worker process a front sends the next request to: the one with the fewest requests
// outstanding from this front; among equals, the one picked longest ago. Without the tie rule, every
// request of a lightly loaded model (each answered before the next arrives, so every worker shows 0)
// would go to the same first worker while the others sit idle.

export interface Candidate {
  /** Requests sent to it and not answered yet. */
  readonly load: number;
  /** When it was last picked, as a sequence number the caller keeps (0: never). */
  readonly lastPicked: number;
}

/** The candidate to send to, or undefined when none is `usable`. Pure: the caller stamps `lastPicked`. */
export function pickWorker<T extends Candidate>(candidates: Iterable<T>, usable: (c: T) => boolean = () => true): T | undefined {
  let best: T | undefined;
  for (const c of candidates) {
    if (!usable(c)) continue;
    if (!best || c.load < best.load || (c.load === best.load && c.lastPicked < best.lastPicked)) best = c;
  }
  return best;
}
