/**
 * The contract between the harness (bench/run.ts, bench/child.ts) and a benchmark module
 * (bench/benchmarks/<name>.ts). Whatever crosses from the parent to a child is JSON, hence the
 * `JsonValue` bounds: declare setup state with `type`, not `interface` (only type aliases are
 * assignable to an index signature).
 */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

export type Role = 'baseline' | 'subject';

/** Connection URLs of the running services (see bench/lib/services.ts for where they come from). */
export interface Services {
  /** A superuser (or a CREATEDB role): creates and drops the per-run databases. */
  readonly adminUrl: string;
  /** The schema owner: runs migrations, and may TRUNCATE or count for checks. */
  readonly ownerUrl: string;
  /** The application role, as the worker connects: what subjects should use. */
  readonly appUrl: string;
  readonly redisUrl: string;
}

/** One invocation of `npm run bench -- <name>`, known to every phase in the parent and in each child. */
export interface BenchContext {
  readonly benchmark: string;
  /** Unique per invocation, [a-z0-9] only: safe inside database names and Redis key prefixes. */
  readonly runId: string;
  readonly size: number;
  readonly services: Services;
}

/** One execution of one variant: one child process. */
export interface Slot {
  readonly variant: string;
  readonly role: Role;
  /** 0-based repeat number. */
  readonly round: number;
  /** 0-based position in the whole schedule: unique per child within a run. */
  readonly index: number;
}

export interface SlotContext<S> extends BenchContext {
  /** What `setup` returned. */
  readonly setup: S;
  readonly slot: Slot;
}

export interface VariantContext<S, P> extends SlotContext<S> {
  /** What `beforeEach` returned for this slot (null without a `beforeEach`). */
  readonly prepared: P;
}

export interface VariantOutcome {
  /** Operations done, in the benchmark's unit (rows, jobs, messages): ops/s is this over wall time. */
  readonly operations: number;
  /** Per-operation or per-batch latencies in milliseconds, when the variant records them. */
  readonly latenciesMs?: readonly number[];
  /**
   * Channel workers: for each provider call, milliseconds from its message's claim (the consent
   * re-check) committing to the call starting (issue 12: the re-check stays just before the hand-off).
   */
  readonly claimToHandoffMs?: readonly number[];
  /**
   * When the work ran in a process the variant started (a compiled `consentcast` command, as
   * production runs it): that process's own figures, reported instead of this child's. `seconds` is
   * the work as that process timed it (without its start-up); CPU and RSS are its own, start-up
   * included.
   */
  readonly process?: {
    readonly seconds: number;
    readonly cpuSeconds: number;
    readonly rssStartBytes: number;
    readonly rssPeakBytes: number;
  };
}

export interface Variant<S, P> {
  readonly name: string;
  readonly role: Role;
  readonly description: string;
  /** Runs in a child process of its own; the child times this call (wall clock) and samples RSS. */
  run(ctx: VariantContext<S, P>): Promise<VariantOutcome>;
}

/**
 * A benchmark: exactly one baseline variant and one or more subjects measured against it.
 * `setup`, `beforeEach`, `afterEach` and `teardown` run in the parent; they are not timed.
 * `teardown` runs even when `setup` failed (then `setup` is undefined), so it should clean up by
 * names derived from `ctx.runId` (see bench/lib/database.ts and bench/lib/redis.ts).
 */
export interface Benchmark<S extends JsonValue = null, P extends JsonValue = null> {
  readonly name: string;
  /** One line, shown by `npm run bench` without arguments. */
  readonly description: string;
  readonly defaultSize: number;
  setup(ctx: BenchContext): Promise<S>;
  /** Before each child, e.g. to give every slot the same fresh state; the result reaches the child. */
  beforeEach?(ctx: SlotContext<S>): Promise<P>;
  /** After each child, e.g. to check what it did and release that slot's state. */
  afterEach?(ctx: VariantContext<S, P>): Promise<void>;
  teardown(ctx: BenchContext, setup: S | undefined): Promise<void>;
  readonly variants: readonly Variant<S, P>[];
}

/**
 * A benchmark seen through the registry. Hooks are declared as methods, whose parameters TypeScript
 * checks bivariantly, so every `Benchmark<S, P>` is assignable here; the harness only ever hands a
 * benchmark the values its own `setup` and `beforeEach` produced.
 */
export type AnyBenchmark = Benchmark<JsonValue, JsonValue>;
