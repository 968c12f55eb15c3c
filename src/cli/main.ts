// The vmlab command line. Exit status: 0 ok, 1 an expectation or undeclared error failed,
// 2 bad input (a scenario that does not parse or validate, a bad command line).

import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { DESIGNS, type DesignName } from '../designs/index.js';
import { type CompareFormat, compareReports, formatComparison } from '../report/compare.js';
import { reportJson, reportText } from '../report/format.js';
import { scenarioJsonSchema } from '../workload/json-schema.js';
import { formatScenarioError, parseScenario } from '../workload/parse.js';
import { runScenario } from '../workload/run.js';
import type { Scenario } from '../workload/scenario.js';

const USAGE = `usage:
  vmlab run FILE [--json] [--seed N] [--check] [--design D]
                                                 run a scenario (under its first design, or D)
                                                 and print its report
  vmlab compare FILE [--designs D1,D2,...] [--format table|json|csv] [--seed N]
                                                 run a scenario under each design (default: the
                                                 designs it lists), counters side by side
  vmlab check FILE                               validate a scenario without running it
  vmlab schema                                   print the scenario format's JSON Schema
  vmlab designs                                  list the designs
  vmlab help                                     this text

exit status: 0 ok, 1 an expectation or an undeclared error failed, 2 bad input`;

class Usage extends Error {}

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  readonly stdout: Pick<Writable, 'write'>;
  readonly stderr: Pick<Writable, 'write'>;
}

/** Run the command line `argv` (without node and the script); returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo = process): number {
  try {
    return main(argv, io);
  } catch (e) {
    if (e instanceof Usage) {
      io.stderr.write(`vmlab: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    // Not the input's fault: a broken invariant or another bug in vmlab.
    io.stderr.write(`vmlab: internal error (a bug in vmlab, please report it): ${(e as Error).message}\n`);
    return 70;
  }
}

function load(file: string, io: CliIo): Scenario | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr.write(`vmlab: ${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return null;
  }
  const r = parseScenario(text, file);
  if (r.ok) return r.scenario;
  for (const e of r.errors) io.stderr.write(`${formatScenarioError(e)}\n`);
  return null;
}

function main(argv: readonly string[], io: CliIo): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run': {
      let json = false;
      let check = false;
      let seed: number | undefined;
      let file: string | undefined;
      let design: DesignName | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === '--json') json = true;
        else if (a === '--design') design = designArg(rest[++i]);
        else if (a === '--check') check = true;
        else if (a === '--seed') seed = seedArg(rest[++i]);
        else if (a.startsWith('-')) throw new Usage(`unknown option ${a}`);
        else if (file === undefined) file = a;
        else throw new Usage(`one scenario file at a time (got ${file} and ${a})`);
      }
      if (file === undefined) throw new Usage('run needs a scenario FILE');
      const loaded = load(file, io);
      if (loaded === null) return 2;
      const sc = design === undefined ? loaded : { ...loaded, design };
      if (!canRun(sc, sc.design, io)) return 2;
      const report = runScenario(sc, { seed, check: check || undefined });
      io.stdout.write(json ? reportJson(report) : reportText(report));
      if (!report.ok && json) {
        for (const e of report.events)
          if (e.failure) io.stderr.write(`${e.loc.file}:${e.loc.line}:${e.loc.column}: ${e.message}\n`);
      }
      return report.ok ? 0 : 1;
    }
    case 'compare':
      return compare(rest, io);
    case 'check': {
      if (rest.length !== 1) throw new Usage('check takes exactly one FILE');
      const sc = load(rest[0], io);
      if (sc === null) return 2;
      const ds = sc.designs.length > 1 ? `designs ${sc.designs.join(', ')}` : `design ${sc.design}`;
      io.stdout.write(`${rest[0]}: ok (${sc.steps.length} steps, ${ds})\n`);
      return 0;
    }
    case 'schema':
      io.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
      return 0;
    case 'designs':
      for (const [name, d] of Object.entries(DESIGNS)) io.stdout.write(`${name.padEnd(10)} ${d.summary}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new Usage(cmd === undefined ? 'no command given' : `unknown command ${cmd}`);
  }
}

/** The value of --seed. */
function seedArg(v: string | undefined): number {
  if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v) || Number(v) > 2 ** 32 - 1)
    throw new Usage(`--seed takes an integer from 0 to 4294967295, got ${v ?? 'nothing'}`);
  return Number(v);
}

/** A design named on the command line. */
function designArg(v: string | undefined): DesignName {
  if (v === undefined || !Object.hasOwn(DESIGNS, v))
    throw new Usage(`unknown design ${v ?? '(none given)'} (designs: ${Object.keys(DESIGNS).join(', ')})`);
  return v as DesignName;
}

/** A scenario with devices needs a design with device support; false (after saying so) otherwise. */
function canRun(sc: Scenario, d: DesignName, io: CliIo): boolean {
  const devices = sc.machine.devices ?? [];
  const why =
    devices.length > 0 && DESIGNS[d].hetero === undefined
      ? `it has devices and ${d} has no device support`
      : d === 'gmem' && devices.some((dev) => dev.memoryKind === 'coherent')
        ? 'it has device-coherent memory (memory_kind: coherent), which gmem has not'
        : undefined;
  if (why === undefined) return true;
  io.stderr.write(`vmlab: ${sc.file}: design ${d} cannot run this scenario: ${why}\n`);
  return false;
}

/**
 * compare FILE [--designs a,b]: the scenario runs once per design (default: the designs it lists;
 * its `design` replaced); the counters print side by side. Exit 0 when every run went through all
 * its steps (its own expectations may fail under another design: they are counted, not fatal),
 * 1 when a run stopped early, 2 for bad input (a design that cannot run the scenario included).
 */
function compare(args: readonly string[], io: CliIo): number {
  let file: string | undefined;
  let designs: DesignName[] | undefined;
  let format: CompareFormat = 'table';
  let seed: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--designs') {
      const v = args[++i];
      if (v === undefined || v === '') throw new Usage('--designs takes a comma-separated list of designs');
      designs = v.split(',').map(designArg);
    } else if (a === '--format') {
      const v = args[++i];
      if (v !== 'table' && v !== 'json' && v !== 'csv')
        throw new Usage(`--format takes table, json or csv, got ${v ?? 'nothing'}`);
      format = v;
    } else if (a === '--seed') seed = seedArg(args[++i]);
    else if (a.startsWith('-')) throw new Usage(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new Usage(`one scenario file at a time (got ${file} and ${a})`);
  }
  if (file === undefined) throw new Usage('compare needs a scenario FILE');
  const sc = load(file, io);
  if (sc === null) return 2;
  const list = designs ?? sc.designs;
  for (const d of list) if (!canRun(sc, d, io)) return 2;
  const reports = list.map((d) => runScenario({ ...sc, design: d }, { seed }));
  const c = compareReports(reports, sc.steps.length);
  io.stdout.write(formatComparison(c, format));
  return c.runs.some((r) => r.stopped) ? 1 : 0;
}
