// madvise (mm/madvise.c): DONTNEED zaps; NORMAL/RANDOM/SEQUENTIAL set read-ahead hints
// (splitting or merging VMAs); WILLNEED on anonymous memory only looks at swap, so without
// swapped pages it does nothing. Unmapped parts of the range give ENOMEM after the mapped
// parts were advised.

import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE, PTRS_PER_TABLE } from '../lib/units.js';
import { splitHugeCut } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import { khugepagedEnterVma } from './khugepaged.js';
import type { Task } from './mm.js';
import { zapRange } from './unmap.js';
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
  while (vma !== undefined && vma.start < end) {
    if (vma.start > tmp) unmapped = true;
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    const next = mm.nextOf(vma);
    const r = adviseVma(k, task, vma, s, e, advice);
    if (r !== null) return err(r);
    tmp = e;
    vma = next;
  }
  if (tmp < end) unmapped = true;
  return unmapped ? err('ENOMEM') : ok(0);
}

function adviseVma(
  k: Kernel,
  task: Task,
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
      // zap_pmd_range: a huge PMD the range covers only in part is split first.
      splitHugeCut(k, mm, vma, start, end, task.cpu);
      zapRange(k, mm, start, end, task.cpu, false); // locked areas refused above
      // CONFIG_PT_RECLAIM (6.14+): a zap of at least a PMD's span frees PTE tables left empty.
      if (end - start >= PTRS_PER_TABLE) mm.pmap.reclaimEmptyPteTables(start, end);
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
    case 'hugepage':
    case 'nohugepage': {
      // hugepage_madvise: one flag set, the other cleared; an eligible area registers its mm
      // with khugepaged at once. (MADV_HUGEPAGE on shmem is allowed; it changes nothing here.)
      const flags =
        advice === 'hugepage'
          ? (vma.flags & ~VM.NOHUGEPAGE) | VM.HUGEPAGE
          : (vma.flags & ~VM.HUGEPAGE) | VM.NOHUGEPAGE;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      if (typeof r === 'string') return 'ENOMEM';
      if (advice === 'hugepage') khugepagedEnterVma(k, mm, r);
      return null;
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
