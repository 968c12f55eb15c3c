// Virtual memory areas (include/linux/mm_types.h struct vm_area_struct, include/linux/mm.h VM_*).
// Bounds are page numbers: [start, end), end being the first page after the area.

import { Prot, PteAttr } from '../arch/pmap.js';
import type { AnonVma } from './anon-vma.js';
import type { ResvMap } from './hugetlb-resv.js';
import type { OpenFile } from './inode.js';
import type { Mm } from './mm.js';

/** vm_flags (include/linux/mm.h). Values as in Linux where it matters for nothing but reading. */
export const enum VM {
  READ = 0x1,
  WRITE = 0x2,
  EXEC = 0x4,
  SHARED = 0x8,
  MAYREAD = 0x10,
  MAYWRITE = 0x20,
  MAYEXEC = 0x40,
  MAYSHARE = 0x80,
  GROWSDOWN = 0x100,
  /** MADV_DONTFORK: not copied into a child. */
  DONTCOPY = 0x20000,
  LOCKED = 0x2000,
  SEQ_READ = 0x8000,
  RAND_READ = 0x10000,
  ACCOUNT = 0x100000,
  NORESERVE = 0x200000,
  LOCKONFAULT = 0x80000,
  /** VM_DONTEXPAND: mremap may not grow the area; part of VM_SPECIAL (never merged). */
  DONTEXPAND = 0x40000,
  /** VM_HUGETLB: a hugetlbfs mapping (is_vm_hugetlb_page). */
  HUGETLB = 0x400000,
  /** MADV_WIPEONFORK: the child gets the area empty. */
  WIPEONFORK = 0x2000000,
  /** MADV_HUGEPAGE: transparent huge pages wanted (thp enabled=madvise). */
  HUGEPAGE = 0x20000000,
  /** MADV_NOHUGEPAGE: no transparent huge pages here, whatever the setting. */
  NOHUGEPAGE = 0x40000000,
  /** vmlab's mark for vma_wants_writenotify (Linux keeps it in vm_page_prot, not vm_flags):
   * shared writable file mappings map clean pages read-only. */
  WRITENOTIFY = 0x10000000,
  /** VM_PEER_SHARED (gmem series, MAP_PEER_SHARED): private anonymous memory shared with the
   * devices the process attached; a logical page table (vm_object) tracks where each page is. */
  PEER_SHARED = 0x4000000,
  PROT_MASK = READ | WRITE | EXEC,
  /** VM_SPECIAL (of its bits, the one vmlab has): such areas are never merged. */
  SPECIAL = DONTEXPAND,
  LOCKED_MASK = LOCKED | LOCKONFAULT,
}

/** Size the real kernel spends per VMA: sizeof(struct vm_area_struct), about 200 B on x86-64 6.x (FACTS.md). */
export const VMA_BYTES = 200;

export class Vma {
  /** First page (vm_start >> PAGE_SHIFT). */
  start: number;
  /** First page after the area (vm_end >> PAGE_SHIFT). */
  end: number;
  flags: number;
  /** vm_pgoff: the file page mapped at start; for private anonymous areas, the page number at
   * which the area was first mapped. */
  pgoff: number;
  /** The anon_vma new anonymous pages of this VMA join (vma->anon_vma); set at the first
   * anonymous write fault (anon_vma_prepare), shared by split halves. */
  anonVma: AnonVma | null = null;
  /** Every anon_vma this VMA is linked to, its own included (the anon_vma_chain list). */
  avcs: AnonVma[] = [];
  /** vm_file: the open file mapped (a regular file, or the shmem object of a shared anonymous area). */
  file: OpenFile | null;
  /** Set when the VMA has been removed from its mm. */
  dead = false;
  /** vm_mm: the address space the VMA is in (set when inserted). */
  mm: Mm | null = null;
  /** hugetlb MAP_PRIVATE areas: the reservation map (vm_private_data), shared by the VMAs split
   * off the one mmap() made, null in a child after fork; and its HPAGE_RESV_* flags (ResvFlag). */
  resvMap: ResvMap | null = null;
  resvFlags = 0;

  constructor(start: number, end: number, flags: number, pgoff: number, file: OpenFile | null) {
    this.start = start;
    this.end = end;
    this.flags = flags;
    this.pgoff = pgoff;
    this.file = file;
  }

  get pages(): number {
    return this.end - this.start;
  }

  /** linear_page_index: the page index of vpn within the area's object. */
  pageIndex(vpn: number): number {
    return this.pgoff + (vpn - this.start);
  }

  isShared(): boolean {
    return (this.flags & VM.SHARED) !== 0;
  }

  /** is_vm_hugetlb_page */
  isHugetlb(): boolean {
    return (this.flags & VM.HUGETLB) !== 0;
  }
}

/** calc_vm_prot_bits */
export function protToVmFlags(prot: number): number {
  return (
    (prot & Prot.read ? VM.READ : 0) | (prot & Prot.write ? VM.WRITE : 0) | (prot & Prot.exec ? VM.EXEC : 0)
  );
}

/**
 * vm_page_prot as PteAttr bits (x86 protection_map): private areas never get write here
 * (write is added by the write fault: copy-on-write), shared writable areas do.
 * A readable or writable area maps readable; PROT_NONE maps protnone.
 */
export function basePteAttrs(flags: number): number {
  if ((flags & VM.PROT_MASK) === 0) return PteAttr.protnone | PteAttr.accessed;
  let a = PteAttr.accessed;
  if (flags & VM.EXEC) a |= PteAttr.exec;
  if ((flags & (VM.SHARED | VM.WRITE | VM.WRITENOTIFY)) === (VM.SHARED | VM.WRITE)) a |= PteAttr.write;
  return a;
}

/** Parse the scenario's prot names ("rw", "none", ...). */
export function protFromName(name: string): number {
  if (name === 'none') return Prot.none;
  let p = 0;
  for (const c of name) p |= c === 'r' ? Prot.read : c === 'w' ? Prot.write : c === 'x' ? Prot.exec : 0;
  return p;
}
