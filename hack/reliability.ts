// `make reliability`: the full report (20 kills per command, 10 inits at once) against local
// control planes of its own, printed as the README's table. Exits 1 when anything was lost or
// leaked, listing each case. The reduced form runs in make test (test/reliability/).
import { startPlanes } from '../test/support/localcluster.ts';
import { backupReliability } from '../test/reliability/backup.ts';
import { controllerReliability, stagedRolloutReliability, tokenReliability } from '../test/reliability/controller.ts';
import { pullReliability } from '../test/reliability/pull.ts';
import { badInput, concurrentJoins, concurrentWrites, killDeinit, killInit, killJoinUnjoin, type Options, type Row, secretScan, table, wireFaults } from '../test/reliability/harness.ts';

const kills = Number(process.env.RELIABILITY_KILLS ?? 20);
const started = Date.now();
const planes = await startPlanes(['host', 'federation', 'member-1']);
const log = (line: string) => process.stdout.write(`${line}\n`);
const o: Options = { planes, kills, concurrentInits: Number(process.env.RELIABILITY_INITS ?? 10), log };
const rows: Row[] = [];
try {
  const sections: [string, () => Promise<Row | Row[]>][] = [
    ['kill init', () => killInit(o)],
    ['kill join and unjoin', () => killJoinUnjoin(o)],
    ['kill deinit', () => killDeinit(o)],
    ['faults on the wire', () => wireFaults(o)],
    ['bad input', () => badInput(o)],
    ['concurrent inits', () => concurrentWrites(o)],
    ['concurrent joins', () => concurrentJoins(o)],
    ['the controller manager: killed while propagating, faults on its links', () => controllerReliability(o)],
    ['the controller manager: killed while renewing member tokens', () => tokenReliability(o)],
    ['the controller manager: killed during a staged rollout', () => stagedRolloutReliability(o)],
    ['pull mode: the agent killed while applying, the federation out of reach, forged writes', () => pullReliability(o)],
    ['backup and restore: under writes, killed at random', () => backupReliability(o)],
    ['secret scan', () => secretScan(o)],
  ];
  // RELIABILITY_ONLY=words: only the sections whose name holds one of them (a section re-run alone).
  const only = process.env.RELIABILITY_ONLY?.split(',').map((w) => w.trim()).filter(Boolean);
  for (const [name, run] of sections.filter(([n]) => !only || only.some((w) => n.includes(w)))) {
    const t = Date.now();
    log(`${name}...`);
    const result = await run();
    for (const row of Array.isArray(result) ? result : [result]) {
      rows.push(row);
      for (const f of row.failures) log(`  LOST: ${f}`);
    }
    log(`  done in ${Math.round((Date.now() - t) / 1000)} s`);
  }
} finally {
  await planes.stop();
}
log('');
log(table(rows));
log('');
log(`make reliability, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - started) / 60_000).toFixed(1)} min`);
process.exitCode = rows.some((r) => r.survived < r.cases) ? 1 : 0;
