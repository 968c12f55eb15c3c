// Storage for page-table pages. Each table is a simulated frame (allocated from PhysMem,
// flagged PG.pagetable, its owner word naming a slot) whose 512 entries live in one
// shared, growable Uint32Array: slot s holds words [s * 1024, s * 1024 + 1024), two per entry.
// Host memory grows with the tables in use, not with the machine's size.

import { PG } from '../../phys/frames.js';
import type { PhysMem } from '../../phys/physmem.js';

export const WORDS_PER_TABLE = 1024;

export class TablePool {
  words: Uint32Array;
  private readonly phys: PhysMem;
  private freeSlots: number[] = [];
  private nextSlot = 0;
  /** Tables in use, all processes, and the most ever in use. */
  live = 0;
  peak = 0;
  /** Table pages ever allocated (each one zeroed). */
  allocs = 0;

  constructor(phys: PhysMem, initialSlots = 64) {
    this.phys = phys;
    this.words = new Uint32Array(initialSlots * WORDS_PER_TABLE);
  }

  /** Allocate a zeroed table page; returns its pfn, or -1 when memory is exhausted. */
  alloc(): number {
    const pfn = this.phys.alloc(0);
    if (pfn < 0) return -1;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if ((slot + 1) * WORDS_PER_TABLE > this.words.length) {
        const bigger = new Uint32Array(this.words.length * 2);
        bigger.set(this.words);
        this.words = bigger;
      }
    } else {
      this.words.fill(0, slot * WORDS_PER_TABLE, (slot + 1) * WORDS_PER_TABLE);
    }
    const f = this.phys.frames;
    f.flags[pfn] = PG.pagetable;
    f.owner[pfn] = slot;
    if (++this.live > this.peak) this.peak = this.live;
    this.allocs++;
    return pfn;
  }

  /** Slot of a table page. */
  slotOf(pfn: number): number {
    return this.phys.frames.owner[pfn];
  }

  free(pfn: number): void {
    const f = this.phys.frames;
    if (!f.has(pfn, PG.pagetable)) throw new Error(`TablePool.free: pfn ${pfn} is not a page table`);
    this.freeSlots.push(f.owner[pfn]);
    f.refcount[pfn] = 0;
    this.phys.free(pfn, 0);
    this.live--;
  }

  /** Host bytes held for table contents. */
  get hostBytes(): number {
    return this.words.byteLength;
  }
}
