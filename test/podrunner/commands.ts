// The host commands the pod runner uses to build namespaces and links (iproute2, util-linux):
// each runs to completion with a deadline, and a failure carries the command's own message.
import { execFile } from 'node:child_process';

export function run(program: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Quotes a word for sh, so any path or argument survives unchanged. */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
