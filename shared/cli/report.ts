// What every read-only report command (status, certs check-expiration) does around its
// own work: the kubeconfig loaded as kubectl loads it, --request-timeout, and -o json|yaml or the
// human screen. Loaded only when such a command runs.
import { parseDuration } from '../duration.ts';
import { parseOneOf } from '../flags.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { formatReport } from '../print.ts';

export interface ReportFlags {
  kubeconfig?: string;
  requestTimeout: string;
  output?: string;
}

/** Runs produce with the kubeconfig and the timeout, prints its result, and returns it. */
export async function report<T>(
  flags: ReportFlags,
  stdout: NodeJS.WritableStream,
  produce: (kubeconfig: Kubeconfig, requestTimeoutMs: number) => Promise<T>,
  screen: (value: T) => string,
): Promise<T> {
  // Flags first: a bad -o is a usage error before anything is read.
  const format = flags.output === undefined ? undefined : parseOneOf(flags.output, ['json', 'yaml'] as const, '--output');
  const timeoutMs = parseDuration(flags.requestTimeout, '--request-timeout');
  const value = await produce(Kubeconfig.load(flags.kubeconfig), timeoutMs);
  stdout.write(format ? formatReport(value, format) : screen(value));
  return value;
}
