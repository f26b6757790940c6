// The node flags the launcher starts the controller with (cli.ts). The controller is not on the
// request path: it registers, supervises and answers management calls, and allocates little.
// - --expose-gc: it collects once when it goes quiet after a burst (idle-gc.ts).
// - 1 MiB semi-spaces (V8's default grows to 16): the default's growth under load held ~12 MB of its
//   resident memory.
// - --single-threaded: no V8 background threads (GC helpers, concurrent compilers) and so none of
//   their stacks and malloc arenas: 4–10 MB less resident after a load in three pairs, for ~60 ms
//   more start-up (docs/performance-profile.md, "Paired steps").
// The fronts it forks leave these out of what they inherit (fronts.ts): they have their own.
export const CONTROLLER_NODE_ARGS = ['--expose-gc', '--max-semi-space-size=1', '--single-threaded'];
