// What `unjoin` does with its flags. Loaded only when unjoin runs.
import { Output } from '../output.ts';
import { membershipRequest, type MembershipInput, type Streams } from '../join/run.ts';
import { runUnjoin } from './unjoin.ts';

export async function unjoinCommand(input: MembershipInput & { ignoreNotFound: boolean; deletePropagated: boolean }, streams: Streams): Promise<number> {
  const out = new Output({ stream: streams.stdout, warnings: streams.stderr });
  const result = await runUnjoin({ ...membershipRequest(input), ignoreNotFound: input.ignoreNotFound, deletePropagated: input.deletePropagated, out });
  if (result.removed) out.line(`Successfully removed cluster ${input.cluster} from the federation.`);
  return 0;
}
