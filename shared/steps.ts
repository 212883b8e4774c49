// Named steps run in order: the list of steps is the whole story of a command (kubeadm's phases).
import { UserError } from './errors.ts';
import type { Output } from './output.ts';

export interface Step<D> {
  /** A short name, e.g. "generate-credentials": error messages and tests use it. */
  name: string;
  /** What the user reads while it runs, e.g. "Creating namespace federation-system". */
  title: (data: D) => string;
  /** Does the step's work; what it returns is shown after "done" (or ends the line its own way). */
  run: (data: D) => Promise<string | StepEnd | undefined | void>;
  /** Skipped when this says so (e.g. storage with an external etcd). */
  skip?: (data: D) => boolean;
}

/** A step's line ending other than "done": e.g. "skipped (cannot reach it: ...)". */
export interface StepEnd {
  word: string;
  detail?: string;
}

export class StepError extends UserError {
  override name = 'StepError';
  readonly step: string;
  override readonly cause: unknown;
  constructor(step: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.step = step;
    this.cause = cause;
  }
}

/** dryRun: each step's line ends "checked (dry run)": a dry run never says it did something. */
export async function runSteps<D>(steps: Step<D>[], data: D, out: Output, o: { dryRun?: boolean } = {}): Promise<void> {
  for (const step of steps) {
    if (step.skip?.(data)) continue;
    out.begin(step.title(data));
    let detail: string | StepEnd | undefined | void;
    try {
      detail = await step.run(data);
    } catch (err) {
      out.fail();
      throw new StepError(step.name, err);
    }
    if (typeof detail === 'object') out.end(detail.detail, detail.word);
    else out.end(detail ?? undefined, o.dryRun ? 'checked (dry run)' : 'done');
  }
}

/** What an earlier step left in the data, or an internal error: a step ran out of order. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal error: ${what} is not known yet`);
  return value;
}
