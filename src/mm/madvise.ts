// madvise (mm/madvise.c): DONTNEED zaps; NORMAL/RANDOM/SEQUENTIAL set read-ahead hints
// (splitting or merging VMAs); WILLNEED on anonymous memory only looks at swap, so without
// swapped pages it does nothing. Unmapped parts of the range give ENOMEM after the mapped
// parts were advised. DONTNEED zaps every VMA of the call into one mmu_gather (6.16+:
// madvise_init_tlb / madvise_finish_tlb), so x86 flushes once per call.

import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { MmuGather } from './mmu-gather.js';
import { zapVmaRange } from './unmap.js';
import { VM, type Vma } from './vma.js';
import { modifyVmaFlags } from './vma-ops.js';

export type { MadviseAdvice as Advice } from '../workload/scenario.js';

import type { MadviseAdvice as Advice } from '../workload/scenario.js';

export function sysMadvise(k: Kernel, task: Task, addr: number, len: number, advice: Advice): SysResult<0> {
  const mm = task.mm!;
  if (addr % PAGE_SIZE !== 0) return err('EINVAL');
  if (len === 0) return ok(0);
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  if (end > mm.taskSize) return err('EINVAL');
  // madvise_walk_vmas: advise each VMA part; remember holes.
  let unmapped = false;
  let tmp = start;
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start >= end) return err('ENOMEM');
  const g = advice === 'dontneed' ? new MmuGather(k, mm, task.cpu) : null;
  let r: 'EINVAL' | 'ENOMEM' | null = null;
  while (vma !== undefined && vma.start < end) {
    if (vma.start > tmp) unmapped = true;
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    const next = mm.nextOf(vma);
    r = adviseVma(k, task, g, vma, s, e, advice);
    if (r !== null) break;
    tmp = e;
    vma = next;
  }
  g?.finish(); // also after an error: what was zapped is flushed
  if (r !== null) return err(r);
  if (tmp < end) unmapped = true;
  return unmapped ? err('ENOMEM') : ok(0);
}

function adviseVma(
  k: Kernel,
  task: Task,
  g: MmuGather | null,
  vma: Vma,
  start: number,
  end: number,
  advice: Advice,
): 'EINVAL' | 'ENOMEM' | null {
  const mm = task.mm!;
  switch (advice) {
    case 'dontneed': {
      // madvise_dontneed_free_valid_vma: locked areas refuse.
      if ((vma.flags & VM.LOCKED) !== 0) return 'EINVAL';
      // CONFIG_PT_RECLAIM (6.14+): PTE tables the zap spans whole and leaves empty are freed.
      zapVmaRange(g!, vma, start, end, true);
      return null;
    }
    case 'willneed':
      return null;
    case 'dontfork':
    case 'dofork':
    case 'wipeonfork':
    case 'keeponfork': {
      // MADV_WIPEONFORK is for private anonymous memory only.
      if (advice === 'wipeonfork' && (vma.flags & VM.SHARED) !== 0) return 'EINVAL';
      const bit = advice === 'dontfork' || advice === 'dofork' ? VM.DONTCOPY : VM.WIPEONFORK;
      const flags = advice === 'dontfork' || advice === 'wipeonfork' ? vma.flags | bit : vma.flags & ~bit;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      return typeof r === 'string' ? 'ENOMEM' : null;
    }
    case 'normal':
    case 'random':
    case 'sequential': {
      let flags = vma.flags & ~(VM.RAND_READ | VM.SEQ_READ);
      if (advice === 'random') flags |= VM.RAND_READ;
      if (advice === 'sequential') flags |= VM.SEQ_READ;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      return typeof r === 'string' ? 'ENOMEM' : null;
    }
  }
}
