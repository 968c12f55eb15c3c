// The reference model for the differential property test (test/property.test.ts): what Linux
// promises a program about its memory and its files, written as plainly as possible and with
// no code shared with vmlab. Per process it keeps a map page -> state (protection, mlock, the
// fork advice, and its backing: private memory with a content token, a place in a shared-
// memory object, or a page of a file: reference-pages.ts); the files' sizes and contents are
// in reference-files.ts. It predicts, for each call, success or the errno, and for each
// access the token read, SIGSEGV or SIGBUS.
//
// Linux behaviour modelled (6.x; files on a disk-backed file system such as ext4; reclaim and
// swap are transparent: a page swapped out, or a file page written back and dropped, reads
// back what it held, which is all the model knows of them):
// - mmap: MAP_FIXED replaces what was there; MAP_FIXED_NOREPLACE fails with EEXIST over any
//   mapped page; a free hint is honoured exactly; otherwise any free place. Private memory
//   reads zero until written; MAP_SHARED|MAP_ANONYMOUS memory is a new shmem object of the
//   mapping's size (pages past its end give SIGBUS, e.g. after an mremap that grew it).
// - munmap: drops pages (never an error for an unmapped range).
// - mprotect, mlock, munlock: ENOMEM when the range starts in a hole (nothing changes);
//   mlock also fails with ENOMEM, after locking, when its populate meets a PROT_NONE area
//   or a page past the end of a shmem object or file;
//   otherwise applied from the start up to the first hole, and ENOMEM if there was one.
// - madvise: ENOMEM when the range has a hole, after advising the mapped parts;
//   MADV_DONTNEED zeroes private anonymous pages, gives a private file page back to the file
//   (madvise(2): later accesses see "the up-to-date contents of the underlying mapped file"),
//   leaves shared pages alone (they stay in the object or file), and fails with EINVAL at the
//   first mlocked area (earlier areas were zapped already).
//   MADV_COLD and MADV_PAGEOUT change no contents (a page reclaimed to swap or dropped from the
//   page cache reads back as it was) and fail with EINVAL at the first mlocked area.
//   MADV_HUGEPAGE/NOHUGEPAGE change no contents (huge pages are transparent), only VMA flags.
//   MADV_DONTFORK/DOFORK and MADV_WIPEONFORK/KEEPONFORK change no contents, only what a later
//   fork does with the pages; MADV_WIPEONFORK fails with EINVAL at the first shared or file
//   mapping (madvise_vma_behavior: vm_file or VM_SHARED; earlier areas were advised already).
//   The advice moves with the pages (mremap) and is inherited by a child.
// - fork (dup_mmap): the child starts as a copy of the parent: private pages by value (after
//   the fork a write by one is not seen by the other), shared pages by object or file (a write
//   by either is seen by both), MADV_DONTFORK pages absent, MADV_WIPEONFORK pages zero-filled,
//   nothing mlocked. exec: the address space is replaced by an empty one.
// - mremap: EFAULT when addr is not mapped (vma_lookup comes first); a shrink unmaps the
//   tail; a grow or DONTUNMAP needs the old range inside one VMA (else EFAULT); a grow is in
//   place when the pages above are free, else it moves (MAYMOVE) or fails with ENOMEM; a move
//   carries the contents, new pages read zero (or the object's or file's following pages),
//   DONTUNMAP leaves the old range mapped and empty (shared and file pages refault from their
//   object or file, private file pages read the file again). A locked area's new part is
//   populated (mm_populate).
// - access: SIGSEGV outside every mapping or when the protection forbids it (write needs
//   PROT_WRITE, exec PROT_EXEC, read any of the three). x86 handles the first instruction
//   fetch from a readable, non-executable page that is not present as a read fault, so it
//   may end in SIGBUS (past the end) or out of memory before the SIGSEGV.
// Files, and mappings of them:
// - The page cache is the file: read(2), write(2) and every MAP_SHARED mapping see the same
//   data, and writeback (fsync, msync MS_SYNC, sync) and eviction (drop_caches) change no
//   contents: what a page held comes back from the disk. So the model keeps one copy of each
//   file page (reference-files.ts), and fsync, sync and drop_caches change nothing in it.
// - A MAP_SHARED store changes the file's page. A MAP_PRIVATE page reads the file's page
//   until the process has a copy of its own: a store makes one (do_cow_fault, wp_page_copy),
//   and so does a populate of a writable private area (populate_vma_page_range faults with
//   FOLL_WRITE to break CoW: MAP_POPULATE, MAP_LOCKED, mlock, mremap growing a locked area,
//   mprotect making a locked private area writable), holding the file's page as it was then.
//   Before that, changes to the file are visible through the mapping (POSIX leaves this
//   unspecified; Linux maps the page-cache page itself, read-only).
// - An access to a mapped page at or past DIV_ROUND_UP(i_size, PAGE_SIZE) is SIGBUS
//   (filemap_fault; POSIX mmap: "references ... to whole pages following the end of an
//   object shall result in delivery of a SIGBUS signal"), whatever the mapping's offset.
// - truncate shrinking takes every mapping's pages past the new end, private copies included
//   (truncate_pagecache -> unmap_mapping_range with even_cows), and zeroes the rest of a
//   partial last page; growing adds zeros (POSIX ftruncate). write(2) changes every page it
//   touches and grows the file to cover them; read(2) returns the bytes up to the end.
// - msync: EINVAL for MS_SYNC|MS_ASYNC; EBUSY for MS_INVALIDATE over a locked area; ENOMEM
//   when the range has a hole (mm/msync.c goes on past holes and reports them at the end).
// - A token stands for a page's whole contents, and a store or write changes bytes inside the
//   file only (POSIX: modifications past the end in the last page are not written to the
//   file), so the tail of the last page past the end is always zero: growing a file leaves its
//   last page as it was. New contents are fresh tokens, never seen before; the tokens a
//   write(2), a truncate or a new file gives pages are read from vmlab (System.filePageToken,
//   no side effects), checked to be fresh, and then held to: see reference-files.ts.
//
// VMA boundaries are not part of Linux's promise and the model does not predict them. It
// knows only "pieces": runs of pages certainly inside one VMA (each mapping starts as one
// piece; every call that may split a VMA splits pieces at its range's ends; pieces never
// merge). When mremap's outcome would depend on a VMA boundary the model cannot know
// (a fully mapped range spanning two pieces), the operation is skipped.
//
// Out-of-memory mode (a tiny machine): an access that may need a new page or page table may
// also fail with "out of memory" (-3), a move by mremap may fail with ENOMEM (Linux moves the
// entries back and unmaps the new area), mlock may fail with EAGAIN after locking (its
// populate ran out of memory), and fork and exec may fail (then nothing changed). A private
// page holding a written token is resident, so accessing it never needs memory, except a
// write while another mapping may still share the page from a fork (copy-on-write must copy;
// do_wp_page reuses a page nobody else maps). The model follows that sharing by "frame"
// identity: a fork gives the child the parent's frames, a write gives the writer a frame of
// its own. Where vmlab may break the sharing without a write (a populate by mlock or by
// mprotect of a locked area), the model keeps it: it then merely allows more. With THPs, a
// write to a page a fork ever shared may need memory even once nobody shares it (see the
// constructor of SpacesModel). A file page (but a private copy) may always need memory:
// drop_caches and reclaim take page-cache pages away.
// read(2) and write(2) may stop short or fail with ENOMEM, truncate may fail with ENOMEM (see
// reference-files.ts), and a populate that may have run out of memory may or may not have
// copied each private file page: the model then accepts either until a read tells which.

import type { FileObj, PeekToken } from './reference-files.js';
import { content, dropPrivate, type PageState, pastEnd, resident, Space } from './reference-pages.js';
import { SpacesModel } from './reference-spaces.js';
import {
  type CallResult,
  describe,
  expectErr,
  expectOk,
  expectResult,
  hex,
  OUT_OF_MEMORY,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SIGBUS,
  SIGSEGV,
  show,
} from './reference-util.js';

export type { PageInfo, Piece } from './reference-spaces.js';
export { type CallResult, OUT_OF_MEMORY, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, SIGBUS, SIGSEGV };

/** mmap_min_addr (64 KiB) in pages. */
const MMAP_MIN_PAGE = 16;

export type AccessKind = 'read' | 'write' | 'exec';
export type Advice =
  | 'dontneed'
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontfork'
  | 'dofork'
  | 'wipeonfork'
  | 'keeponfork'
  | 'hugepage'
  | 'nohugepage'
  | 'cold'
  | 'pageout';
export type MmapMode = 'fixed' | 'noreplace' | 'hint' | 'any';
export type MremapMode = 'maymove' | 'nomove' | 'fixed' | 'dontunmap';

export interface MmapArgs {
  /** Fixed address or hint, in pages (ignored for mode 'any'). */
  readonly page: number;
  readonly pages: number;
  readonly prot: number;
  readonly shared: boolean;
  readonly mode: MmapMode;
  readonly locked: boolean;
  /** MAP_POPULATE. */
  readonly populate?: boolean;
  /** A file mapping: the file's name and the offset into it, in pages. */
  readonly file?: string;
  readonly offset?: number;
}

export type MsyncFlag = 'sync' | 'async' | 'invalidate';

export interface MremapArgs {
  readonly page: number;
  readonly oldPages: number;
  readonly newPages: number;
  readonly mode: MremapMode;
  /** Destination for mode 'fixed', in pages. */
  readonly dst: number;
}

export class ReferenceModel extends SpacesModel {
  // ------------------------------------------------------------------ calls
  // Each takes vmlab's result, returns null when it is what Linux would give (and updates the
  // model), or a description of the difference.

  /**
   * fork of process `parent` into the (empty) slot `child`; `forked` is whether vmlab's fork
   * succeeded. dup_mmap copies every VMA but VM_DONTCOPY ones, one for one (so the parent's
   * pieces are the child's), without VM_LOCKED; private pages keep their contents (and share
   * the parent's frames until one side writes; a private file page the parent has no copy of
   * reads the file), VM_WIPEONFORK ones arrive empty, shared pages keep their object or file.
   */
  fork(parent: number, child: number, forked: boolean): string | null {
    if (!forked) return this.oom ? null : 'fork: failed (out of memory) with memory to spare';
    const src = this.spaces[parent];
    const dst = new Space();
    const pieces = new Map<number, number>();
    for (const [v, s] of src.pages) {
      if (s.dontfork) continue;
      let piece = pieces.get(s.piece);
      if (piece === undefined) {
        piece = this.nextPiece++;
        pieces.set(s.piece, piece);
      }
      const wipe = s.wipeonfork && s.obj === null && s.file === null;
      if (s.frame !== null && !wipe) s.frame.everShared = true;
      dst.pages.set(v, {
        ...s,
        locked: false,
        onfault: false,
        piece,
        token: wipe ? 0 : s.token,
        frame: wipe ? null : s.frame,
        maybe: s.maybe === null ? null : [...s.maybe],
      });
    }
    this.spaces[child] = dst;
    return null;
  }

  /** exec of process p; `done` is whether vmlab's exec succeeded (an empty address space). */
  exec(p: number, done: boolean): string | null {
    if (!done) return this.oom ? null : 'exec: failed (out of memory) with memory to spare';
    this.reset(p);
    return null;
  }

  mmap(p: number, a: MmapArgs, actual: CallResult): string | null {
    const sp = this.spaces[p];
    let file: FileObj | null = null;
    if (a.file !== undefined) {
      file = this.fs.files.get(a.file) ?? null;
      if (file === null) return expectErr(actual, 'ENOENT');
    }
    let at: number;
    switch (a.mode) {
      case 'fixed':
        at = a.page;
        break;
      case 'noreplace':
        if (!this.free(sp, a.page, a.page + a.pages)) return expectErr(actual, 'EEXIST');
        at = a.page;
        break;
      case 'hint':
      case 'any': {
        if (a.mode === 'hint' && this.free(sp, a.page, a.page + a.pages)) {
          at = a.page;
          break;
        }
        if (!actual.ok) return `mmap: expected success, got ${actual.errno}`;
        if (actual.value % PAGE_SIZE !== 0) return `mmap: returned unaligned address ${hex(actual.value)}`;
        at = actual.value / PAGE_SIZE;
        if (at < MMAP_MIN_PAGE) return `mmap: returned ${hex(actual.value)}, below mmap_min_addr`;
        if (!this.free(sp, at, at + a.pages)) {
          return `mmap: returned ${hex(actual.value)}, which overlaps an existing mapping`;
        }
        break;
      }
    }
    const bad = expectOk(actual, at * PAGE_SIZE);
    if (bad !== null) return bad;
    this.unmap(sp, at, at + a.pages);
    const obj = a.shared && file === null ? this.newObject(a.pages) : null;
    const piece = this.nextPiece++;
    for (let i = 0; i < a.pages; i++) {
      sp.pages.set(at + i, {
        prot: a.prot,
        locked: a.locked,
        onfault: false,
        dontfork: false,
        wipeonfork: false,
        obj,
        file,
        shared: a.shared,
        idx: (file === null ? 0 : (a.offset ?? 0)) + i,
        own: false,
        token: 0,
        frame: null,
        maybe: null,
        piece,
      });
    }
    // MAP_POPULATE and MAP_LOCKED populate, ignoring errors (mm_populate).
    if (a.populate === true || a.locked) this.populate(sp, at, at + a.pages, false, !this.oom);
    return null;
  }

  munmap(p: number, page: number, pages: number, actual: CallResult): string | null {
    const bad = expectOk(actual, 0);
    if (bad !== null) return bad;
    this.unmap(this.spaces[p], page, page + pages);
    return null;
  }

  /**
   * mprotect; a locked private area made writable is populated (mprotect_fixup: VM_LOCKED
   * without VM_WRITE or VM_SHARED gaining VM_WRITE), which breaks CoW of its file pages.
   */
  mprotect(p: number, page: number, pages: number, prot: number, actual: CallResult): string | null {
    const fill: number[] = [];
    const bad = this.applyRun(p, page, pages, actual, (s, v) => {
      if ((s.prot & PROT_WRITE) === 0 && !s.shared && s.locked && (prot & PROT_WRITE) !== 0) fill.push(v);
      s.prot = prot;
    });
    for (const v of fill) this.populate(this.spaces[p], v, v + 1, false, !this.oom);
    return bad;
  }

  /**
   * mlock, or mlock2(MLOCK_ONFAULT) when `onfault` (no populate). The populate after locking
   * (__mm_populate, errors not ignored) walks the range in address order and stops at the
   * first page it cannot fault: a PROT_NONE area (GUP without FOLL_FORCE gets EFAULT) or a page
   * past the end of a shmem object or file (SIGBUS). mlock reports that as ENOMEM, and a
   * populate that ran out of memory as EAGAIN; either way the lock stays.
   */
  mlock(p: number, page: number, pages: number, onfault: boolean, actual: CallResult): string | null {
    const end = page + pages;
    const lock = (s: PageState) => {
      s.locked = true;
      s.onfault = onfault;
    };
    if (onfault || this.runEnd(p, page, end) !== end) return this.applyRun(p, page, pages, actual, lock);
    const outOfMemory = this.oom && !actual.ok && actual.errno === 'EAGAIN';
    if (this.populateFails(p, page, end)) {
      if (!outOfMemory && !(!actual.ok && actual.errno === 'ENOMEM'))
        return `mlock: expected ENOMEM (populate fails: PROT_NONE or past the end), got ${show(actual)}`;
    } else if (!outOfMemory) {
      const bad = expectOk(actual, 0);
      if (bad !== null) return bad;
    }
    this.applyRun(p, page, pages, { ok: true, value: 0 }, lock);
    this.populate(this.spaces[p], page, end, true, !outOfMemory);
    return null;
  }

  munlock(p: number, page: number, pages: number, actual: CallResult): string | null {
    return this.applyRun(p, page, pages, actual, (s) => {
      s.locked = false;
      s.onfault = false;
    });
  }

  madvise(p: number, page: number, pages: number, advice: Advice, actual: CallResult): string | null {
    const sp = this.spaces[p];
    const end = page + pages;
    let hole = false;
    let invalid = false;
    // MADV_COLD and MADV_PAGEOUT change no VMA flags (they deactivate or reclaim pages), so
    // they split nothing.
    const lru = advice === 'cold' || advice === 'pageout';
    if (advice !== 'dontneed' && advice !== 'willneed' && !lru) {
      // The others change VMA flags: VMAs may split at the range's ends. (When EINVAL stops
      // the walk, Linux splits less; a piece split more than needed is still inside one VMA.)
      this.split(sp, page);
      this.split(sp, end);
    }
    for (let v = page; v < end; v++) {
      const s = sp.pages.get(v);
      if (s === undefined) {
        hole = true;
        continue;
      }
      if (advice === 'dontneed') {
        if (s.locked) {
          invalid = true;
          break;
        }
        if (!s.shared) dropPrivate(s);
      } else if (lru) {
        // can_madv_lru_vma: EINVAL at the first locked area (earlier ones were advised).
        if (s.locked) {
          invalid = true;
          break;
        }
      } else if (advice === 'dontfork' || advice === 'dofork') {
        s.dontfork = advice === 'dontfork';
      } else if (advice === 'wipeonfork' || advice === 'keeponfork') {
        if (advice === 'wipeonfork' && (s.obj !== null || s.file !== null)) {
          invalid = true;
          break;
        }
        s.wipeonfork = advice === 'wipeonfork';
      }
    }
    return expectResult(actual, invalid ? 'EINVAL' : hole ? 'ENOMEM' : 0);
  }

  /** Whether the model cannot predict this mremap (see the header); the test then skips it. */
  mremapUnpredictable(p: number, a: MremapArgs): boolean {
    const sp = this.spaces[p];
    if (!sp.pages.has(a.page)) return false;
    if (a.mode === 'fixed') {
      if (overlaps(a.page, a.oldPages, a.dst, a.newPages)) return false;
      return this.oneVma(sp, a.page, a.page + Math.min(a.oldPages, a.newPages)) === 'unknown';
    }
    if (a.mode !== 'dontunmap' && a.oldPages >= a.newPages) return false;
    const r = this.oneVma(sp, a.page, a.page + a.oldPages);
    if (r === 'unknown') return true;
    // MREMAP_DONTUNMAP clears VM_LOCKED on the whole old VMA, which may reach past the piece.
    return r === 'yes' && a.mode === 'dontunmap' && sp.pages.get(a.page)!.locked;
  }

  mremap(p: number, a: MremapArgs, actual: CallResult): string | null {
    const sp = this.spaces[p];
    const s = a.page;
    if (a.mode === 'dontunmap' && a.oldPages !== a.newPages) return expectErr(actual, 'EINVAL');
    if (!sp.pages.has(s)) return expectErr(actual, 'EFAULT');
    if (a.mode === 'fixed') {
      if (overlaps(s, a.oldPages, a.dst, a.newPages)) return expectErr(actual, 'EINVAL');
      const old = Math.min(a.oldPages, a.newPages);
      const fits = this.oneVma(sp, s, s + old);
      // The destination and the tail are unmapped before the old range is checked.
      if (fits === 'no') {
        const bad = expectErr(actual, 'EFAULT');
        if (bad === null) {
          this.unmap(sp, a.dst, a.dst + a.newPages);
          this.unmap(sp, s + old, s + a.oldPages);
        }
        return bad;
      }
      if (this.oom && !actual.ok && actual.errno === 'ENOMEM') {
        this.unmap(sp, a.dst, a.dst + a.newPages);
        this.unmap(sp, s + old, s + a.oldPages);
        return null;
      }
      const bad = expectOk(actual, a.dst * PAGE_SIZE);
      if (bad !== null) return bad;
      this.unmap(sp, a.dst, a.dst + a.newPages);
      this.unmap(sp, s + old, s + a.oldPages);
      this.move(sp, s, old, a.newPages, a.dst, false);
      return null;
    }
    if (a.mode !== 'dontunmap' && a.oldPages >= a.newPages) {
      const bad = expectOk(actual, s * PAGE_SIZE);
      if (bad === null) this.unmap(sp, s + a.newPages, s + a.oldPages);
      return bad;
    }
    if (this.oneVma(sp, s, s + a.oldPages) === 'no') return expectErr(actual, 'EFAULT');
    const oldEnd = s + a.oldPages;
    if (a.mode !== 'dontunmap' && this.free(sp, oldEnd, s + a.newPages)) {
      // The old range ends its VMA (the page above is free) and the space above is free.
      const bad = expectOk(actual, s * PAGE_SIZE);
      if (bad !== null) return bad;
      const last = sp.pages.get(oldEnd - 1)!;
      for (let v = oldEnd; v < s + a.newPages; v++) sp.pages.set(v, newPageAfter(last, v - oldEnd + 1));
      // A locked area's new part is populated (mremap: mm_populate of the grown part).
      if (last.locked) this.populate(sp, oldEnd, s + a.newPages, false, !this.oom);
      return null;
    }
    if (a.mode === 'nomove') return expectErr(actual, 'ENOMEM');
    if (this.oom && !actual.ok && actual.errno === 'ENOMEM') return null;
    if (!actual.ok) return `mremap: expected a move, got ${actual.errno}`;
    if (actual.value % PAGE_SIZE !== 0) return `mremap: returned unaligned address ${hex(actual.value)}`;
    const dst = actual.value / PAGE_SIZE;
    if (dst < MMAP_MIN_PAGE || !this.free(sp, dst, dst + a.newPages)) {
      return `mremap: moved to ${hex(actual.value)}, which overlaps an existing mapping`;
    }
    this.move(sp, s, a.oldPages, a.newPages, dst, a.mode === 'dontunmap');
    return null;
  }

  /** An access by process p to page v; `actual` is what vmlab's access returned. */
  access(p: number, v: number, kind: AccessKind, actual: number): string | null {
    const s = this.spaces[p].pages.get(v);
    const allowed =
      s !== undefined &&
      (kind === 'write'
        ? (s.prot & PROT_WRITE) !== 0
        : kind === 'exec'
          ? (s.prot & PROT_EXEC) !== 0
          : (s.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0);
    // May this access need memory? Not for a resident private page; but a write to it copies
    // while another mapping may share the frame (fork), or with THPs while a fork ever shared
    // it (see the constructor of SpacesModel). A private file page's copy is never part of a
    // THP (do_cow_fault allocates one page; anonymous THPs are for anonymous areas only).
    const thpCopy = this.thp && s?.file === null && s.frame?.everShared === true;
    const mayNeedMemory =
      s !== undefined &&
      this.oom &&
      (!resident(s) || (kind === 'write' && (this.frameShared(s.frame) || thpCopy)));
    if (!allowed) {
      // x86 access_error: an instruction fetch from a readable, non-executable page that is not
      // present is handled as a read fault first (which may fail as a read would: SIGBUS past
      // the end of the shmem object or file, or out of memory); the retry then faults on NX and
      // gets SIGSEGV. (A page past the end is never present.)
      if (kind === 'exec' && s !== undefined && s.prot !== 0) {
        if (mayNeedMemory && actual === OUT_OF_MEMORY) return null;
        if (pastEnd(s)) {
          return actual === SIGBUS
            ? null
            : `access: expected SIGBUS (exec past the end), got ${describe(actual)}`;
        }
      }
      return actual === SIGSEGV ? null : `access: expected SIGSEGV, got ${describe(actual)}`;
    }
    if (mayNeedMemory && actual === OUT_OF_MEMORY) return null;
    if (pastEnd(s))
      return actual === SIGBUS ? null : `access: expected SIGBUS (past the end), got ${describe(actual)}`;
    if (kind === 'write') {
      const bad = this.tokens.fresh(actual, 'access');
      if (bad !== null) return bad;
      if (s.obj !== null) s.obj.tokens.set(s.idx, actual);
      else if (s.file !== null && s.shared) s.file.pages.set(s.idx, actual);
      else {
        // The writer's page is its own now (reused, or a copy made by the CoW fault).
        s.token = actual;
        s.frame = { id: this.nextFrame++ };
        s.own = s.file !== null;
        s.maybe = null;
      }
      return null;
    }
    const want = content(s);
    if (s.maybe !== null) {
      // The page may hold a copy a populate made (or not): what it returns tells which.
      if (actual !== want && s.maybe.includes(actual)) {
        s.own = true;
        s.token = actual;
        s.maybe = null;
        return null;
      }
      if (actual === want && !s.maybe.includes(actual)) s.maybe = null;
    }
    if (actual === want) return null;
    const alt = s.maybe !== null ? ` (or a populated copy: ${s.maybe.join(', ')})` : '';
    return `access: expected token ${want}${alt}, got ${describe(actual)}`;
  }

  /**
   * msync(addr, len, flags) (mm/msync.c): EINVAL for MS_SYNC with MS_ASYNC; the walk goes over
   * every area of the range (MS_ASYNC alone stops at the first hole: nothing to do anyway),
   * EBUSY at a locked area with MS_INVALIDATE, else ENOMEM when the range has a hole. No
   * contents change: MS_SYNC writes dirty pages back, the others do nothing.
   */
  msync(
    p: number,
    page: number,
    pages: number,
    flags: readonly MsyncFlag[],
    actual: CallResult,
  ): string | null {
    if (flags.includes('sync') && flags.includes('async')) return expectErr(actual, 'EINVAL');
    const sp = this.spaces[p];
    let hole = false;
    let busy = false;
    for (let v = page; v < page + pages; v++) {
      const s = sp.pages.get(v);
      if (s === undefined) hole = true;
      else if (s.locked && flags.includes('invalidate')) busy = true;
    }
    return expectResult(actual, busy ? 'EBUSY' : hole ? 'ENOMEM' : 0);
  }

  // ------------------------------------------------------------------ files (reference-files.ts)

  create(name: string, size: number, actual: CallResult, peek: PeekToken): string | null {
    return this.fs.create(name, size, actual, peek);
  }

  read(name: string, off: number, len: number, actual: CallResult): string | null {
    return this.fs.read(name, off, len, actual);
  }

  write(name: string, off: number, len: number, actual: CallResult, peek: PeekToken): string | null {
    return this.fs.write(name, off, len, actual, peek);
  }

  fsync(name: string, actual: CallResult): string | null {
    return this.fs.fsync(name, actual);
  }

  /**
   * truncate: the file's side in FileSystemModel.truncate; a shrink also takes every mapping's
   * private copies of pages past the new end (truncate_pagecache -> unmap_mapping_range with
   * even_cows): an access there is SIGBUS, and if the file grows again it reads the file.
   */
  truncate(name: string, size: number, actual: CallResult, peek: PeekToken): string | null {
    const f = this.fs.files.get(name);
    const old = f?.size ?? 0;
    const bad = this.fs.truncate(name, size, actual, peek);
    if (bad !== null || f === undefined || size >= old) return bad;
    const keep = Math.ceil(size / PAGE_SIZE);
    for (const sp of this.spaces) {
      for (const s of sp.pages.values()) if (s.file === f && !s.shared && s.idx >= keep) dropPrivate(s);
    }
    return null;
  }

  // ------------------------------------------------------------------ mremap's move

  /**
   * move_vma: pages [s, s + old) move to dst with their contents; [dst + old, dst + n) are new
   * pages of the same kind (shmem: the object's following pages). The old range is unmapped,
   * or with DONTUNMAP left mapped with its private pages emptied.
   */
  private move(sp: Space, s: number, old: number, n: number, dst: number, dontunmap: boolean): void {
    const src: PageState[] = [];
    for (let i = 0; i < old; i++) src.push(sp.pages.get(s + i)!);
    const piece = this.nextPiece++;
    const moved: PageState[] = src.map((x) => ({ ...x, piece }));
    const last = src[old - 1];
    for (let i = old; i < n; i++) moved.push({ ...newPageAfter(last, i - old + 1), piece });
    if (dontunmap) {
      this.split(sp, s);
      this.split(sp, s + old);
      for (const x of src) {
        dropPrivate(x);
        x.locked = false;
        x.onfault = false;
      }
    } else {
      this.unmap(sp, s, s + old);
    }
    for (let i = 0; i < n; i++) sp.pages.set(dst + i, moved[i]);
    if (last.locked && n > old) this.populate(sp, dst + old, dst + n, false, !this.oom);
  }
}

function overlaps(a: number, an: number, b: number, bn: number): boolean {
  return a < b + bn && b < a + an;
}

/** A page an mremap grows after `last` (`k` pages on): the same kind, the object's or file's next page, empty. */
function newPageAfter(last: PageState, k: number): PageState {
  return { ...last, idx: last.idx + k, token: 0, frame: null, own: false, maybe: null };
}
