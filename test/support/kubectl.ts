// Runs kubectl as a user would: the project's kubectl v1.37.2, finding our plugin on PATH. Always
// asynchronous: a test's own process may be serving pods' traffic (the pod runner) meanwhile.
import { spawn } from 'node:child_process';
import type { CliResult } from './cli.ts';

export function kubectl(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return runProgram('kubectl', env, ...args);
}

/** Any program a user runs beside kubectl (helm), the same way. */
export function runProgram(command: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** kubectl ... -o json, parsed; throws with kubectl's message when it fails. */
export async function kubectlJSON<T>(env: NodeJS.ProcessEnv, ...args: string[]): Promise<T> {
  const r = await kubectl(env, ...args, '-o', 'json');
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}
