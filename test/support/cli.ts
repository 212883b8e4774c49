// Runs the product's commands as users do: the bundled executables under dist/ (`make build`).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, requireTool } from './paths.ts';

export const pluginPath = join(repoRoot, 'dist', 'kubectl-federation.cjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  pid: number;
  /** Resolves when stdout or stderr contains text (or rejects when the command ends first). */
  waitForOutput(text: string | RegExp): Promise<void>;
  result: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [requireTool(pluginPath), ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { text: string | RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (typeof w.text === 'string' ? stdout.includes(w.text) || stderr.includes(w.text) : w.text.test(stdout) || w.text.test(stderr)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    check();
  });
  const result = new Promise<CliResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return {
    pid: child.pid!,
    result,
    kill: (signal = 'SIGKILL') => child.kill(signal),
    waitForOutput: (text) =>
      new Promise<void>((resolve, reject) => {
        watchers.push({ text, resolve });
        void result.then((r) => reject(new Error(`command ended (${r.code}) before printing ${String(text)}:\n${r.stdout}\n${r.stderr}`)));
      }),
  };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).result;
}
