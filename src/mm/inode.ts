// Files and their page caches (include/linux/fs.h struct inode, struct address_space,
// struct file). One class serves regular files of the simulated file system and shmem
// objects (the unnamed tmpfs file behind a MAP_SHARED|MAP_ANONYMOUS area, shmem_zero_setup):
// in Linux both are inodes with a page cache; they differ in where pages come from (the disk,
// or zero-filled memory that swap backs) and in how their pages are counted (RssFile/Cached,
// or RssShmem/Shmem).

import { Xarray } from '../lib/xarray.js';
import type { ResvMap } from './hugetlb-resv.js';
import type { Mm } from './mm.js';
import type { Shadow } from './swap.js';
import type { Vma } from './vma.js';

export const enum InodeKind {
  /** A regular file on a disk-backed file system (ext4-like: large folios since 6.16). */
  file = 0,
  /** A shmem (tmpfs) object. */
  shmem = 1,
  /** A hugetlbfs file: a named one, or the unnamed file behind a MAP_HUGETLB area
   * (hugetlb_file_setup). Its page cache holds hugetlb folios, by huge-page index. */
  hugetlbfs = 2,
}

export class Inode {
  readonly id: number;
  readonly kind: InodeKind;
  /** The file's name, or "" for an unnamed shmem object. */
  readonly name: string;
  /** i_size in bytes. */
  size: number;
  /** The page cache (mapping->i_pages): page index -> pfn. Each cached page holds one reference. */
  readonly cache = new Xarray();
  /** Regular files: the contents on disk, page index -> content token (absent: a hole, zeros). */
  readonly disk = new Map<number, number>();
  /** The VMAs mapping the file, with their address spaces (mapping->i_mmap, an interval tree in
   * Linux whose nodes live inside vm_area_struct: no memory of its own). */
  readonly mmaps = new Map<Vma, Mm>();
  /** References: open files (struct file) and, for a named file, its directory entry. */
  users = 0;
  /** shmem: pages swapped out (their cache entries are swap entries: -(slot + 1)). */
  swapped = 0;
  /** Regular files: workingset shadows of evicted pages, by index (value entries in Linux's xarray). */
  readonly shadows = new Map<number, Shadow>();
  /** Regular files: the large folios in the cache, head index -> order (>= 1); a cached page
   * no record covers is an order-0 folio (filemap-folio.ts). */
  readonly folios = new Map<number, number>();
  /** hugetlbfs: the hstate (index in Kernel.hugetlb.hstates) and the inode's reservation map
   * (resv_map: the file's huge pages reserved or instantiated). */
  hstate = -1;
  resv: ResvMap | null = null;

  constructor(id: number, kind: InodeKind, name: string, size: number) {
    this.id = id;
    this.kind = kind;
    this.name = name;
    this.size = size;
  }

  /** Pages covered by i_size (DIV_ROUND_UP(i_size, PAGE_SIZE)). */
  get sizePages(): number {
    return Math.ceil(this.size / 4096);
  }

  isShmem(): boolean {
    return this.kind === InodeKind.shmem;
  }

  isHugetlbfs(): boolean {
    return this.kind === InodeKind.hugetlbfs;
  }
}

/** Readahead state of an open file (struct file_ra_state). */
export class RaState {
  start = 0;
  size = 0;
  asyncSize = 0;
  /** Maximum window, pages (bdi ra_pages: read_ahead_kb / 4). */
  raPages: number;
  /** Cache misses of mmap faults not yet balanced by hits (MMAP_LOTSAMISS logic). */
  mmapMiss = 0;
  /** Byte position after the previous read(), -1 before the first (file_ra_state_init). */
  prevPos = -1;

  constructor(raPages: number) {
    this.raPages = raPages;
  }
}

/** An open file (struct file): the inode and the readahead state its reads and mappings share. */
export class OpenFile {
  readonly inode: Inode;
  readonly ra: RaState;
  /** References: the opening process's file table, and each VMA mapping it (get_file). */
  users = 0;

  constructor(inode: Inode, raPages: number) {
    this.inode = inode;
    this.ra = new RaState(raPages);
  }
}
