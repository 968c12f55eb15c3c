// What the steps so far have created, for the checks that span steps: which processes exist, which
// regions each has named, how many CPUs there are. Problems go to the DecodeCtx with their position.
// Deliberately simple: a name stays known after `exit`, and a region after munmap (the runner
// reports what then fails, as the kernel would).

import type { DesignName } from '../designs/names.js';
import type { DecodeCtx, Where } from './schema-dsl.js';
import { byCloseness, didYouMean } from './suggest.js';

interface ProcessEntry {
  /** Where the spawn step named it. */
  readonly spawnedAt: Where;
  readonly spawnIndex: number;
  /** Region names defined by mmap/brk `as`. */
  readonly regions: Set<string>;
}

export class StepTracker {
  private readonly processes = new Map<string, ProcessEntry>();
  /** Files made by create steps (a second create of a name fails at run time with EEXIST). */
  private readonly files = new Set<string>();

  constructor(
    private readonly ctx: DecodeCtx,
    private readonly cpus: number,
    /** The scenario's designs: a step's `design` must name some of these. */
    readonly designs: readonly DesignName[],
  ) {}

  /** A spawn step creates `name`; a name may be spawned only once. */
  spawn(name: string, at: Where, index: number): void {
    const earlier = this.processes.get(name);
    if (earlier !== undefined) {
      const { spawnIndex, spawnedAt } = earlier;
      this.ctx.report(
        at,
        `process '${name}' is already spawned by steps[${spawnIndex}] (line ${spawnedAt.line})`,
      );
      return;
    }
    this.processes.set(name, { spawnedAt: at, spawnIndex: index, regions: new Set() });
  }

  /** A forked child knows the regions its parent had named so far. */
  inheritRegions(parent: string, child: string): void {
    const from = this.processes.get(parent)?.regions;
    const to = this.processes.get(child)?.regions;
    if (from !== undefined && to !== undefined) for (const r of from) to.add(r);
  }

  /** A step names process `name` in `in`: an earlier step must have spawned it. */
  process(name: string, at: Where): boolean {
    if (this.processes.has(name)) return true;
    const known = [...this.processes.keys()];
    this.ctx.report(
      at,
      `process '${name}' has not been spawned${didYouMean(name, known)}`,
      `a process spawned by an earlier step: ${known.length === 0 ? 'none yet' : byCloseness(name, known).join(', ')}`,
    );
    return false;
  }

  /** An mmap or brk names its result `region` in process `proc`. A later `as` may reuse a name. */
  defineRegion(proc: string, region: string): void {
    this.processes.get(proc)?.regions.add(region);
  }

  /** A step uses `region` of process `proc`; unknown processes were reported already. */
  region(proc: string, region: string, at: Where): void {
    const regions = this.processes.get(proc)?.regions;
    if (regions === undefined || regions.has(region)) return;
    const known = [...regions];
    this.ctx.report(
      at,
      `region '${region}' is not defined in process '${proc}'${didYouMean(region, known)}`,
      `a region named by an earlier mmap or brk 'as' in ${proc}: ${known.length === 0 ? 'none yet' : byCloseness(region, known).join(', ')}`,
    );
  }

  /** A create step makes file `name`. */
  createFile(name: string): void {
    this.files.add(name);
  }

  /** A step uses file `name`: an earlier create step must have made it. */
  file(name: string, at: Where): void {
    if (this.files.has(name)) return;
    const known = [...this.files];
    this.ctx.report(
      at,
      `file '${name}' has not been created${didYouMean(name, known)}`,
      `a file made by an earlier create step: ${known.length === 0 ? 'none yet' : byCloseness(name, known).join(', ')}`,
    );
  }

  /** A step names CPU `cpu`: the machine must have it. */
  cpu(cpu: number, at: Where): void {
    if (cpu < this.cpus) return;
    const expected = this.cpus === 1 ? '0' : `an integer from 0 to ${this.cpus - 1}`;
    this.ctx.report(
      at,
      `cpu ${cpu} does not exist: the machine has ${this.cpus} CPU${this.cpus === 1 ? '' : 's'}`,
      expected,
    );
  }
}
