// Inserting, splitting, merging and removing VMAs (mm/vma.c).

import type { Errno } from '../lib/errno.js';
import type { AnonVma } from './anon-vma.js';
import { splitHugePmdAt } from './huge-memory.js';
import { hugetlbVmOpen, vmaHstate } from './hugetlb-reserve.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { VM, Vma } from './vma.js';

/** Flags that do not prevent a merge (VM_SOFTDIRTY in Linux; none of ours). */
const MERGE_IGNORED = 0;

export function insertVma(k: Kernel, mm: Mm, vma: Vma): void {
  vma.mm = mm;
  mm.vmas.set(vma.start, vma);
  mm.mapCount++;
  k.vmaCreated();
  if (vma.file !== null) {
    vma.file.users++;
    vma.file.inode.mmaps.set(vma, mm);
  }
}

/** Remove a VMA from the tree and free it (its pages and tables are the caller's business). */
export function removeVma(k: Kernel, mm: Mm, vma: Vma): void {
  mm.vmas.delete(vma.start);
  mm.gapOpened(vma.end);
  mm.mapCount--;
  vma.dead = true;
  k.vmaFreed(vma);
}

/**
 * is_mergeable_vma + is_mergeable_anon_vma: can `a` (below) and `b` (above, a.end === b.start)
 * be one VMA? Same flags, same object at contiguous offsets, compatible anon_vmas.
 */
export function canMerge(
  a: { flags: number; pgoff: number; start: number; end: number; anonVma: unknown; file: unknown },
  b: typeof a,
): boolean {
  if (((a.flags ^ b.flags) & ~MERGE_IGNORED) !== 0) return false;
  if (((a.flags | b.flags) & VM.SPECIAL) !== 0) return false; // vma_merge refuses VM_SPECIAL
  if (a.file !== b.file) return false;
  if (a.pgoff + (a.end - a.start) !== b.pgoff) return false;
  return anonCompatible(a, b);
}

/**
 * is_mergeable_anon_vma: equal anon_vmas, or one side without one, provided the side that has
 * one links to nothing else (a forked VMA's chain holds its ancestors too, and a merge would
 * hand them to pages that never belonged to them). Also used for prev and next when a range
 * joins both neighbours.
 */
export function anonCompatible(a: AnonSide, b: AnonSide): boolean {
  if (a.anonVma === null) return (b.avcs?.length ?? 0) <= 1;
  if (b.anonVma === null) return (a.avcs?.length ?? 0) <= 1;
  return a.anonVma === b.anonVma;
}

interface AnonSide {
  readonly anonVma: unknown;
  readonly avcs?: readonly unknown[];
}

/**
 * split_vma: split vma at page `at` (strictly inside). The lower part keeps the object;
 * the upper part is a new VMA (anon_vma cloned, file referenced). `checked` (split_vma, as
 * mprotect, madvise and mlock use it) fails with ENOMEM at vm.max_map_count; unchecked
 * (__split_vma, as munmap uses it after its own check) does not.
 */
export function splitVma(k: Kernel, mm: Mm, vma: Vma, at: number, checked = true): Errno | null {
  if (at <= vma.start || at >= vma.end)
    throw new Error(`splitVma: ${at} is not inside [${vma.start}, ${vma.end})`);
  if (checked && mm.mapCount >= k.config.maxMapCount) return 'ENOMEM';
  // vm_ops->may_split: a hugetlb area splits only at a huge page boundary (hugetlb_vm_op_split).
  if (vma.isHugetlb() && at % vmaHstate(k, vma).nrPages !== 0) return 'EINVAL';
  splitHugePmdAt(k, mm, at); // __split_vma -> vma_adjust_trans_huge
  const upper = new Vma(at, vma.end, vma.flags, vma.pgoff + (at - vma.start), vma.file);
  vma.end = at;
  if (vma.isHugetlb()) hugetlbVmOpen(vma, upper); // vm_ops->open
  insertVma(k, mm, upper);
  k.adoptAnonVmas(upper, vma);
  return null;
}

/** Merge `b` into `a` (a.end === b.start, canMerge): a grows, b goes. */
export function mergeInto(k: Kernel, mm: Mm, a: Vma, b: Vma): void {
  if (a.anonVma === null && b.anonVma !== null) k.adoptAnonVmas(a, b);
  a.end = b.end;
  removeVma(k, mm, b);
}

/** A proposed new area (struct vma_merge_struct's fields): [start, end) with its attributes. */
export interface NewRange {
  readonly flags: number;
  readonly pgoff: number;
  readonly start: number;
  readonly end: number;
  readonly anonVma: AnonVma | null;
  /** The anon_vma chain of the VMA the area is copied from (copy_vma); absent for a new area. */
  readonly avcs?: readonly AnonVma[];
  readonly file: unknown;
}

/**
 * vma_merge_new_range and vma_expand: place the free area `cand` by growing prev (the VMA
 * ending at cand.start) and/or next (the one starting at cand.end) where compatible. When
 * both are, prev absorbs the area and next, provided prev's and next's anon_vmas agree
 * (can_vma_merge_right); otherwise prev alone. `copiedFrom` (copy_vma, an mremap move) is the
 * VMA whose entries will move in: the VMA that grows takes its anon_vmas when it has none
 * (dup_anon_vma). Returns the VMA now covering the area, or null when nothing merged.
 */
export function mergeNewRange(
  k: Kernel,
  mm: Mm,
  prev: Vma | undefined,
  next: Vma | undefined,
  cand: NewRange,
  copiedFrom: Vma | null,
): Vma | null {
  const left = prev !== undefined && prev.end === cand.start && canMerge(prev, cand);
  let right = next !== undefined && next.start === cand.end && canMerge(cand, next);
  if (left && right)
    right = prev.anonVma === null || next!.anonVma === null || prev.anonVma === next!.anonVma;
  let target: Vma;
  if (left) {
    target = prev;
    prev.end = cand.end;
    if (right) mergeInto(k, mm, prev, next!);
  } else if (right) {
    target = next!;
    moveStart(mm, target, cand.start);
  } else {
    return null;
  }
  if (copiedFrom !== null && target.anonVma === null && copiedFrom.anonVma !== null)
    k.adoptAnonVmas(target, copiedFrom);
  return target;
}

/**
 * Give pages [start, end) of vma the flags `newFlags` (vma_modify_flags): merge with a
 * neighbour where possible, else split so that exactly the range changes. Returns the VMA
 * now covering the range, or an errno (ENOMEM at max_map_count).
 */
export function modifyVmaFlags(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
  newFlags: number,
): Vma | Errno {
  if (vma.flags === newFlags) return vma;
  // vma_adjust_trans_huge: a boundary that moves to start or end must not cut a huge PMD.
  splitHugePmdAt(k, mm, start);
  splitHugePmdAt(k, mm, end);
  const prev = mm.prevOf(vma);
  const next = mm.nextOf(vma);
  const changed = {
    flags: newFlags,
    pgoff: vma.pgoff + (start - vma.start),
    start,
    end,
    anonVma: vma.anonVma,
    file: vma.file,
  };
  const mergePrev =
    prev !== undefined && prev.end === start && start === vma.start && canMerge(prev, changed);
  const mergeNext = next !== undefined && next.start === end && end === vma.end && canMerge(changed, next);
  if (mergePrev && mergeNext && anonCompatible(prev, next)) {
    mergeInto(k, mm, prev, vma);
    mergeInto(k, mm, prev, next);
    return prev;
  }
  if (mergePrev) {
    // The range joins prev: prev grows to end, vma shrinks from the bottom (or goes).
    if (end === vma.end) {
      mergeInto(k, mm, prev, vma);
    } else {
      moveStart(mm, vma, end);
      prev.end = end;
      if (prev.anonVma === null && vma.anonVma !== null) k.adoptAnonVmas(prev, vma);
    }
    return prev;
  }
  if (mergeNext) {
    if (start === vma.start) {
      vma.flags = newFlags;
      mergeInto(k, mm, vma, next);
      return vma;
    }
    vma.end = start;
    moveStart(mm, next, start);
    if (next.anonVma === null && vma.anonVma !== null) k.adoptAnonVmas(next, vma);
    return next;
  }
  // Split both ends as needed (vma_modify); the middle part takes the new flags. When the second
  // split fails the first one stays, as in Linux.
  let target = vma;
  if (start > vma.start) {
    const e = splitVma(k, mm, vma, start);
    if (e !== null) return e;
    target = mm.vmaAt(start)!;
  }
  if (end < target.end) {
    const e = splitVma(k, mm, target, end);
    if (e !== null) return e;
  }
  target.flags = newFlags;
  return target;
}

/** Move a VMA's start within the tree (the key changes), adjusting pgoff. */
export function moveStart(mm: Mm, vma: Vma, newStart: number): void {
  if (newStart > vma.start) mm.gapOpened(newStart);
  mm.vmas.delete(vma.start);
  vma.pgoff += newStart - vma.start;
  vma.start = newStart;
  mm.vmas.set(newStart, vma);
}

/** Whether no VMA intersects [start, end). */
export function rangeFree(mm: Mm, start: number, end: number): boolean {
  const v = mm.findVma(start);
  return v === undefined || v.start >= end;
}
