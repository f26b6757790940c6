// A model's sessions on CUDA, one per input shape. The CUDA provider tunes a session's convolutions for
// the shape of the run it is given and keeps only that tuning: a run whose shape differs from the
// session's last run tunes again, which costs far more than the run (the bundled OCR's cls and rec
// models on an H100: 0.6-1.4 s of CPU a shape change, against 3-10 ms a run; docs/gpu.md, "Batches on
// the GPU"). Callers pad their runs to a few shapes; each shape then keeps its own tuned session.
import { createSession, type Session } from './onnx-session.js';
import type { WorkerOptions } from './handler-api.js';
import { providerInUse } from './provider-in-use.js';

/** What the handlers use of a session. */
export type Runner = Pick<Session, 'run' | 'inputNames' | 'outputNames' | 'release'>;

type Feeds = Parameters<Session['run']>[0];

interface Entry {
  session: Promise<Session>;
  busy: number;
  used: number;
}

/** Sessions of one model file, keyed by the shapes of a run's inputs; the least recently used beyond `max` are released. */
export class ShapeSessions implements Runner {
  private readonly byShape = new Map<string, Entry>();
  private clock = 0;
  /** Whether `first` serves a shape (else it is released with the rest). */
  private firstTaken = false;

  constructor(
    private readonly first: Session,
    private readonly create: () => Promise<Session>,
    private readonly max: number,
  ) {}

  get inputNames(): readonly string[] {
    return this.first.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.first.outputNames;
  }

  async run(feeds: Feeds): ReturnType<Session['run']> {
    const key = Object.keys(feeds)
      .map((name) => `${name}:${feeds[name].dims.join('x')}`)
      .join(',');
    let entry = this.byShape.get(key);
    if (!entry) {
      // The first shape takes the session made at load; later ones a new one each.
      const reuse = !this.firstTaken;
      this.firstTaken = true;
      entry = { session: reuse ? Promise.resolve(this.first) : this.create(), busy: 0, used: 0 };
      this.byShape.set(key, entry);
    }
    entry.used = ++this.clock;
    entry.busy++;
    this.evict();
    try {
      const session = await entry.session.catch((err: Error) => {
        // A session that could not be made (GPU memory) is tried again by the next run of its shape.
        if (this.byShape.get(key) === entry) this.byShape.delete(key);
        throw err;
      });
      return await session.run(feeds);
    } finally {
      entry.busy--;
    }
  }

  private evict(): void {
    while (this.byShape.size > this.max) {
      let oldest: [string, Entry] | undefined;
      for (const e of this.byShape) if (e[1].busy === 0 && (!oldest || e[1].used < oldest[1].used)) oldest = e;
      if (!oldest) return;
      this.byShape.delete(oldest[0]);
      void oldest[1].session.then((s) => s.release()).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const all = [...this.byShape.values()].map((e) => e.session);
    this.byShape.clear();
    if (!this.firstTaken) all.push(Promise.resolve(this.first));
    await Promise.all(all.map((s) => s.then((x) => x.release()).catch(() => undefined)));
  }
}

/** Whether this worker's sessions run on CUDA (after its first session was created). */
export const onCuda = (): boolean => providerInUse()?.startsWith('cuda') ?? false;

/**
 * A model's runner: on CUDA a session per input shape (at most `max`), elsewhere the one session (the
 * CPU provider has no per-shape tuning to keep).
 */
export async function shapeRunner(file: string, options: WorkerOptions, max: number): Promise<Runner> {
  const first = await createSession(file, options);
  return onCuda() ? new ShapeSessions(first, () => createSession(file, options), max) : first;
}
