// Differential property test under memory pressure with swap (issue 3): the main test's random
// sequences (mmap, munmap, mprotect, mremap, madvise, mlock, fork, exec, exit, file calls,
// THPs, khugepaged, drop_caches, accesses on several processes and CPUs; test/property.test.ts)
// on a small machine (8 MiB) with a swap device (32 MiB), after a private and a shmem working
// set, plus pressure: the balloon inflates, deflates and pulses (kswapd and direct reclaim swap
// anonymous and shmem pages out, write dirty file pages back and drop clean ones, pass mlocked
// pages by), large touches read or write whole mappings (swap-ins by reads and by writes, more
// reclaim), MADV_PAGEOUT and MADV_COLD reclaim or deactivate ranges, MADV_WILLNEED reads
// swapped pages back into the swap cache. Forks share swapped pages; munmap, exit and truncate
// drop them.
//
// After every step: every access reads what the reference model says (a page swapped out and
// in, or a file page written back, dropped and read again, keeps its contents), the VMAs are
// the model's, vmlab's invariant checker finds nothing, and the OOM killer has not fired:
// pressure is kept below what swap absorbs (see test/property-swap-run.ts), so an OOM kill,
// or an access that fails for lack of memory, is a bug. At the end every written page is read
// back, every process exits, and no frame, page table, swap slot or swap-cache entry is left.
//
// Bugs it found are pinned by scenarios (swap-cache-freed-at-exit, balloon-no-oom-kill) and
// unit tests (src/mm/fork-reclaim.test.ts).
//
// Pressure must really happen: over the run, most sequences must have swapped out and in and
// woken kswapd, and a good share must have entered direct reclaim, reclaimed file pages and
// swapped shmem pages out (the sequences start with a private and a shmem working set), and
// squeezed memory while pages were mlocked.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ThpEnabled } from '../src/workload/scenario.js';
import { MiB, type Op } from './property-ops.js';
import { runSequence } from './property-run.js';
import { swapOpsArb } from './property-swap-ops.js';

const thpArb = fc.constantFrom<ThpEnabled>('always', 'always', 'madvise', 'never');

const seedEnv = process.env.VMLAB_FC_SEED;
const runsEnv = process.env.VMLAB_FC_RUNS;
const timeout = runsEnv !== undefined ? 3_600_000 : 60_000;
const numRuns = runsEnv !== undefined ? Number(runsEnv) : 100;
const params: fc.Parameters<[ThpEnabled, Op[]]> =
  seedEnv !== undefined && seedEnv !== 'random' ? { numRuns, seed: Number(seedEnv) } : { numRuns };

/** A turn of the event loop after each run (see test/property.test.ts). */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('vmlab agrees with the reference model under memory pressure with swap', () => {
  it(
    'on random sequences with balloon, large touches, MADV_PAGEOUT/COLD/WILLNEED (8 MiB, 32 MiB of swap)',
    async () => {
      let runs = 0;
      let swappedOut = 0;
      let swappedIn = 0;
      let kswapd = 0;
      let direct = 0;
      let file = 0;
      let shmem = 0;
      let locked = 0;
      await fc.assert(
        fc.asyncProperty(thpArb, swapOpsArb, async (thp, ops) => {
          const {
            counters: c,
            shmemSwapped,
            lockedSqueezed,
          } = runSequence(ops, { memory: 8 * MiB, thp, swap: 32 * MiB });
          runs++;
          if (c.pswpout > 0) swappedOut++;
          if (c.pswpin > 0) swappedIn++;
          if (c.pgsteal_kswapd > 0) kswapd++;
          if (c.allocstall > 0) direct++;
          if (c.pgsteal_file > 0) file++;
          if (shmemSwapped) shmem++;
          if (lockedSqueezed) locked++;
          await yieldTurn();
        }),
        params,
      );
      if (process.env.VMLAB_PROP_STATS === '1')
        console.log(
          `${runs} sequences: ${swappedOut} swapped out, ${swappedIn} swapped in, ${kswapd} reclaimed by kswapd, ${direct} entered direct reclaim, ${file} reclaimed file pages, ${shmem} swapped shmem, ${locked} squeezed with pages mlocked`,
        );
      // Every run passed (a failure throws above); most must have swapped out and in.
      expect(swappedOut / runs, `${swappedOut} of ${runs} sequences swapped out`).toBeGreaterThan(0.8);
      expect(swappedIn / runs, `${swappedIn} of ${runs} sequences swapped in`).toBeGreaterThan(0.75);
      expect(kswapd / runs, `${kswapd} of ${runs} sequences woke kswapd to reclaim`).toBeGreaterThan(0.8);
      expect(direct / runs, `${direct} of ${runs} sequences entered direct reclaim`).toBeGreaterThan(0.2);
      expect(file / runs, `${file} of ${runs} sequences reclaimed file pages`).toBeGreaterThan(0.35);
      expect(shmem / runs, `${shmem} of ${runs} sequences swapped shmem out`).toBeGreaterThan(0.4);
      expect(locked / runs, `${locked} of ${runs} sequences squeezed with pages mlocked`).toBeGreaterThan(
        0.2,
      );
    },
    timeout,
  );
});
