// The base of every kubectl-federation command: kubectl's global flags, and the rule that a failure
// the user can fix ends in one line and a non-zero exit, never a stack trace.
import { Command, Option } from 'clipanion';
import { EXIT_FAILURE, EXIT_USAGE, errorMessage, InputError, oneLine, UserError } from '../errors.ts';
import { sourceStack } from './stack.ts';

export abstract class KubeCommand extends Command {
  kubeconfig = Option.String('--kubeconfig', {
    description: 'Path to the kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config)',
  });
  requestTimeout = Option.String('--request-timeout', '30s', {
    description: 'How long to wait for a single request to a cluster (e.g. 30s, 1m)',
  });
  as = Option.String('--as', { description: 'Username to impersonate for the operation (as kubectl)' });
  asGroup = Option.Array('--as-group', { description: 'Group to impersonate; repeat for several' });
  asUid = Option.String('--as-uid', { description: 'UID to impersonate' });

  /** The command's work; its result is the exit code. */
  protected abstract run(): Promise<number | undefined>;

  override async execute(): Promise<number> {
    try {
      if (this.as !== undefined || this.asGroup !== undefined || this.asUid !== undefined) {
        const { setImpersonation } = await import('../kube/credentials.ts');
        setImpersonation({ user: this.as, groups: this.asGroup, uid: this.asUid });
      }
      return (await this.run()) ?? 0;
    } catch (err) {
      return reportError(err, this.context.stderr);
    }
  }
}

/** Prints err as kubectl would ("error: ...") and returns the exit code. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof UserError) {
    stderr.write(`error: ${oneLine(err.message)}\n`);
    return err instanceof InputError ? EXIT_USAGE : EXIT_FAILURE;
  }
  // A bug: say so plainly; the stack is for whoever debugs it.
  stderr.write(`error: ${oneLine(errorMessage(err))}\n`);
  if (process.env.DEBUG) stderr.write(`${err instanceof Error && err.stack ? sourceStack(err.stack) : String(err)}\n`);
  else stderr.write('(this looks like a bug in kubectl-federation: run again with DEBUG=1 for details, and report it)\n');
  return EXIT_FAILURE;
}
