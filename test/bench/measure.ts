// Measuring helpers for `make bench`: medians of repeated runs and a process's CPU and memory.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The p-th percentile (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time in ms of running a command (after one warm-up run); it must exit with status. */
export function timeCommand(command: string, args: string[], runs = 15, env: NodeJS.ProcessEnv = process.env, status = 0): number {
  spawnSync(command, args, { env, stdio: 'ignore' });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const began = performance.now();
    const r = spawnSync(command, args, { env, stdio: 'ignore' });
    if (r.status !== status) throw new Error(`${command} ${args.join(' ')} exited ${r.status}, not ${status}`);
    times.push(performance.now() - began);
  }
  return median(times);
}

/**
 * Median wall times of several commands run in turn (a, b, c, a, b, c, ...), so that whatever else
 * the machine does weighs on each alike: ratios between them are what this measures.
 */
export function timeInterleaved(commands: { command: string; args: string[]; status?: number }[], runs = 31): number[] {
  const times = commands.map(() => [] as number[]);
  for (const c of commands) spawnSync(c.command, c.args, { stdio: 'ignore' });
  for (let i = 0; i < runs; i++) {
    for (const [j, c] of commands.entries()) {
      const began = performance.now();
      const r = spawnSync(c.command, c.args, { stdio: 'ignore' });
      if (r.status !== (c.status ?? 0)) throw new Error(`${c.command} ${c.args.join(' ')} exited ${r.status}, not ${c.status ?? 0}`);
      times[j]!.push(performance.now() - began);
    }
  }
  return times.map(median);
}

const ticks = 100; // USER_HZ on Linux

/** CPU seconds a process has used so far (user + system). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

export function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
