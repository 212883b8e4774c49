// The digest of the code this process runs: the controller manager and a pull member's agent run
// the same bundle (shipped the same way), so equal digests mean the agent is as new as the
// federation, and different ones that the agent waits for an upgrade from its member's side.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** sha256 (first 16 hex digits) of the file node runs (process.argv[1]); "unknown" when unreadable. */
export function runningCodeDigest(): string {
  if (cached === undefined) {
    try {
      cached = createHash('sha256').update(readFileSync(process.argv[1] ?? '')).digest('hex').slice(0, 16);
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
