// The reference model for the differential property test (test/property.test.ts): what Linux
// promises a program about its anonymous memory, written as plainly as possible and with no
// code shared with vmlab. Per process it keeps a map page -> state (protection, mlocked, the
// fork advice, and either a private content token or a place in a shared-memory object). It
// predicts, for each call, success or the errno, and for each access the token read, SIGSEGV
// or SIGBUS.
//
// Linux behaviour modelled (6.x, anonymous memory, no swap):
// - mmap: MAP_FIXED replaces what was there; MAP_FIXED_NOREPLACE fails with EEXIST over any
//   mapped page; a free hint is honoured exactly; otherwise any free place. Private memory
//   reads zero until written; MAP_SHARED|MAP_ANONYMOUS memory is a new shmem object of the
//   mapping's size (pages past its end give SIGBUS, e.g. after an mremap that grew it).
// - munmap: drops pages (never an error for an unmapped range).
// - mprotect, mlock, munlock: ENOMEM when the range starts in a hole (nothing changes);
//   mlock also fails with ENOMEM, after locking, when its populate meets a PROT_NONE area
//   or a page past a shmem object's end;
//   otherwise applied from the start up to the first hole, and ENOMEM if there was one.
// - madvise: ENOMEM when the range has a hole, after advising the mapped parts;
//   MADV_DONTNEED zeroes private pages but not shmem pages (they stay in the object), and
//   fails with EINVAL at the first mlocked area (earlier areas were zapped already).
//   MADV_HUGEPAGE/NOHUGEPAGE change no contents (huge pages are transparent), only VMA flags.
//   MADV_DONTFORK/DOFORK and MADV_WIPEONFORK/KEEPONFORK change no contents, only what a later
//   fork does with the pages; MADV_WIPEONFORK fails with EINVAL at the first shared mapping
//   (madvise_vma_behavior: anonymous private memory only; earlier areas were advised already).
//   The advice moves with the pages (mremap) and is inherited by a child.
// - fork (dup_mmap): the child starts as a copy of the parent: private pages by value (after
//   the fork a write by one is not seen by the other), shared pages by object (a write by
//   either is seen by both), MADV_DONTFORK pages absent, MADV_WIPEONFORK pages zero-filled,
//   nothing mlocked. exec: the address space is replaced by an empty one.
// - mremap: EFAULT when addr is not mapped (vma_lookup comes first); a shrink unmaps the
//   tail; a grow or DONTUNMAP needs the old range inside one VMA (else EFAULT); a grow is in
//   place when the pages above are free, else it moves (MAYMOVE) or fails with ENOMEM; a move
//   carries the contents, new pages read zero (or the object's pages for shmem), DONTUNMAP
//   leaves the old range mapped and empty (shmem pages refault from the object).
// - access: SIGSEGV outside every mapping or when the protection forbids it (write needs
//   PROT_WRITE, exec PROT_EXEC, read any of the three). x86 handles the first instruction
//   fetch from a readable, non-executable page that is not present as a read fault, so it
//   may end in SIGBUS (past a shmem object) or out of memory before the SIGSEGV.
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
// mprotect of a locked area), the model keeps it: it then merely allows more.

export const PAGE_SIZE = 4096;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** Access results below zero, as vmlab's System.access returns them. */
export const SIGSEGV = -1;
export const SIGBUS = -2;
export const OUT_OF_MEMORY = -3;

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
  | 'nohugepage';
export type MmapMode = 'fixed' | 'noreplace' | 'hint' | 'any';
export type MremapMode = 'maymove' | 'nomove' | 'fixed' | 'dontunmap';

/** A call's result as vmlab reports it. */
export type CallResult = { ok: true; value: number } | { ok: false; errno: string };

/** An unnamed shmem object: its size in pages and the tokens of the pages ever written. */
interface ShmObject {
  readonly id: number;
  readonly size: number;
  readonly tokens: Map<number, number>;
}

/** The identity of the physical page behind a private page with a written token. */
interface Frame {
  readonly id: number;
  /** A fork shared it at some time (see `thp` in the constructor). */
  everShared?: boolean;
}

interface PageState {
  prot: number;
  locked: boolean;
  /** MADV_DONTFORK: not copied into a child. */
  dontfork: boolean;
  /** MADV_WIPEONFORK: copied into a child zero-filled. */
  wipeonfork: boolean;
  /** null for private memory. */
  obj: ShmObject | null;
  /** Page index within obj (shared memory). */
  idx: number;
  /** Last token written (private memory); 0 for zero-filled. */
  token: number;
  /** The page holding `token` (private memory, token !== 0), shared with a child by fork. */
  frame: Frame | null;
  /** Piece id: pages with equal ids form a run that lies inside one VMA. */
  piece: number;
}

export interface PageInfo {
  readonly prot: number;
  readonly locked: boolean;
  readonly shared: boolean;
  readonly dontfork: boolean;
  readonly wipeonfork: boolean;
}

export interface Piece {
  readonly start: number;
  readonly end: number;
}

class Space {
  readonly pages = new Map<number, PageState>();
}

export interface MmapArgs {
  /** Fixed address or hint, in pages (ignored for mode 'any'). */
  readonly page: number;
  readonly pages: number;
  readonly prot: number;
  readonly shared: boolean;
  readonly mode: MmapMode;
  readonly locked: boolean;
}

export interface MremapArgs {
  readonly page: number;
  readonly oldPages: number;
  readonly newPages: number;
  readonly mode: MremapMode;
  /** Destination for mode 'fixed', in pages. */
  readonly dst: number;
}

export class ReferenceModel {
  private readonly spaces: Space[] = [];
  private nextPiece = 1;
  private nextObj = 1;
  private nextFrame = 1;
  private readonly seenTokens = new Set<number>();

  /**
   * `processes`: the process slots (an unused slot is an empty address space);
   * `oom`: the machine may run out of memory (see the header).
   */
  /**
   * `thp`: transparent huge pages may be in use. Then, out of memory, a write to a page whose
   * frame a fork ever shared may need memory even when no one shares it now: a page of a THP
   * is reused in place only while anon-exclusive (do_wp_page does not count a large folio's
   * references per page), and the exclusive mark is not given back when the sharer goes.
   */
  constructor(
    processes: number,
    readonly oom: boolean,
    readonly thp = false,
  ) {
    for (let i = 0; i < processes; i++) this.spaces.push(new Space());
  }

  // ------------------------------------------------------------------ queries

  /** Mapped pages of process p, ascending. */
  mappedPages(p: number): number[] {
    return [...this.spaces[p].pages.keys()].sort((a, b) => a - b);
  }

  /** Pages of process p whose content is not zero (a token was written), ascending. */
  writtenPages(p: number): number[] {
    const pages = this.spaces[p].pages;
    return this.mappedPages(p).filter((v) => hasContent(pages.get(v)!));
  }

  /**
   * Pages of process p that another process also has: the same address mapped with content
   * on one side at least (after a fork: a page inherited or passed on, then perhaps written by
   * one side), or the same content by other means (a private frame a fork shares, or a shmem
   * object, perhaps moved elsewhere by mremap). Ascending.
   */
  commonPages(p: number): number[] {
    const frames = new Set<Frame>();
    const objs = new Set<ShmObject>();
    const others = this.spaces.filter((_, q) => q !== p);
    for (const sp of others) {
      for (const s of sp.pages.values()) {
        if (s.frame !== null) frames.add(s.frame);
        if (s.obj !== null) objs.add(s.obj);
      }
    }
    const pages = this.spaces[p].pages;
    return this.mappedPages(p).filter((v) => {
      const s = pages.get(v)!;
      if (s.obj !== null ? objs.has(s.obj) : s.frame !== null && frames.has(s.frame)) return true;
      return others.some((sp) => {
        const o = sp.pages.get(v);
        return o !== undefined && (hasContent(s) || hasContent(o));
      });
    });
  }

  /** The pieces of process p, ascending. */
  pieces(p: number): Piece[] {
    const out: Piece[] = [];
    const pages = this.spaces[p].pages;
    let cur: { start: number; end: number; id: number } | null = null;
    for (const v of this.mappedPages(p)) {
      const id = pages.get(v)!.piece;
      if (cur !== null && cur.end === v && cur.id === id) {
        cur.end++;
        continue;
      }
      if (cur !== null) out.push({ start: cur.start, end: cur.end });
      cur = { start: v, end: v + 1, id };
    }
    if (cur !== null) out.push({ start: cur.start, end: cur.end });
    return out;
  }

  /** What page v of process p looks like (for the test's comparison with vmlab's VMAs). */
  pageInfo(p: number, v: number): PageInfo | undefined {
    const s = this.spaces[p].pages.get(v);
    if (s === undefined) return undefined;
    return {
      prot: s.prot,
      locked: s.locked,
      shared: s.obj !== null,
      dontfork: s.dontfork,
      wipeonfork: s.wipeonfork,
    };
  }

  mappedCount(p: number): number {
    return this.spaces[p].pages.size;
  }

  // ------------------------------------------------------------------ calls
  // Each takes vmlab's result, returns null when it is what Linux would give (and updates the
  // model), or a description of the difference.

  /** The process exited (or was replaced by a new one). */
  reset(p: number): void {
    this.spaces[p] = new Space();
  }

  /**
   * fork of process `parent` into the (empty) slot `child`; `forked` is whether vmlab's fork
   * succeeded. dup_mmap copies every VMA but VM_DONTCOPY ones, one for one (so the parent's
   * pieces are the child's), without VM_LOCKED; private pages keep their contents (and share
   * the parent's frames until one side writes), VM_WIPEONFORK ones arrive empty, shared pages
   * keep their object.
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
      const wipe = s.wipeonfork && s.obj === null;
      if (s.frame !== null && !wipe) s.frame.everShared = true;
      dst.pages.set(v, {
        ...s,
        locked: false,
        piece,
        token: wipe ? 0 : s.token,
        frame: wipe ? null : s.frame,
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
    const obj = a.shared ? this.newObject(a.pages) : null;
    const piece = this.nextPiece++;
    for (let i = 0; i < a.pages; i++) {
      sp.pages.set(at + i, {
        prot: a.prot,
        locked: a.locked,
        dontfork: false,
        wipeonfork: false,
        obj,
        idx: i,
        token: 0,
        frame: null,
        piece,
      });
    }
    return null;
  }

  munmap(p: number, page: number, pages: number, actual: CallResult): string | null {
    const bad = expectOk(actual, 0);
    if (bad !== null) return bad;
    this.unmap(this.spaces[p], page, page + pages);
    return null;
  }

  mprotect(p: number, page: number, pages: number, prot: number, actual: CallResult): string | null {
    return this.applyRun(p, page, pages, actual, (s) => {
      s.prot = prot;
    });
  }

  /** mlock, or mlock2(MLOCK_ONFAULT) when `onfault` (no populate). */
  mlock(p: number, page: number, pages: number, onfault: boolean, actual: CallResult): string | null {
    const whole = this.runEnd(p, page, page + pages) === page + pages;
    // The populate after locking (__mm_populate, errors not ignored) fails with EFAULT on a
    // PROT_NONE area (GUP without FOLL_FORCE) or a page past a shmem object's end (SIGBUS);
    // mlock reports that as ENOMEM, the lock stays.
    if (!onfault && whole && this.populateFails(p, page, page + pages)) {
      const out = !actual.ok && (actual.errno === 'ENOMEM' || (this.oom && actual.errno === 'EAGAIN'));
      if (!out)
        return `mlock: expected ENOMEM (populate fails: PROT_NONE or past shmem end), got ${show(actual)}`;
      return this.applyRun(p, page, pages, { ok: true, value: 0 }, (s) => {
        s.locked = true;
      });
    }
    // Out of memory, the populate after locking fails: mlock returns EAGAIN, the lock stays.
    if (this.oom && !onfault && !actual.ok && actual.errno === 'EAGAIN' && whole) {
      return this.applyRun(p, page, pages, { ok: true, value: 0 }, (s) => {
        s.locked = true;
      });
    }
    return this.applyRun(p, page, pages, actual, (s) => {
      s.locked = true;
    });
  }

  munlock(p: number, page: number, pages: number, actual: CallResult): string | null {
    return this.applyRun(p, page, pages, actual, (s) => {
      s.locked = false;
    });
  }

  madvise(p: number, page: number, pages: number, advice: Advice, actual: CallResult): string | null {
    const sp = this.spaces[p];
    const end = page + pages;
    let hole = false;
    let invalid = false;
    if (advice !== 'dontneed' && advice !== 'willneed') {
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
        if (s.obj === null) {
          s.token = 0;
          s.frame = null;
        }
      } else if (advice === 'dontfork' || advice === 'dofork') {
        s.dontfork = advice === 'dontfork';
      } else if (advice === 'wipeonfork' || advice === 'keeponfork') {
        if (advice === 'wipeonfork' && s.obj !== null) {
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
      for (let v = oldEnd; v < s + a.newPages; v++) {
        sp.pages.set(v, { ...last, idx: last.idx + (v - oldEnd + 1), token: 0, frame: null });
      }
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
    // May this access need memory? Not for a private page holding a written token: it is
    // resident; but a write to it copies while another mapping may share the frame (fork).
    const mayNeedMemory =
      s !== undefined &&
      this.oom &&
      (s.obj !== null ||
        s.token === 0 ||
        (kind === 'write' && (this.frameShared(s.frame) || (this.thp && s.frame?.everShared === true))));
    if (!allowed) {
      // x86 access_error: an instruction fetch from a readable, non-executable page that is not
      // present is handled as a read fault first (which may fail as a read would: SIGBUS past
      // the shmem object, or out of memory); the retry then faults on NX and gets SIGSEGV.
      if (kind === 'exec' && s !== undefined && s.prot !== 0) {
        if (mayNeedMemory && actual === OUT_OF_MEMORY) return null;
        if (s.obj !== null && s.idx >= s.obj.size) {
          return actual === SIGBUS
            ? null
            : `access: expected SIGBUS (exec past the shmem object), got ${describe(actual)}`;
        }
      }
      return actual === SIGSEGV ? null : `access: expected SIGSEGV, got ${describe(actual)}`;
    }
    if (mayNeedMemory && actual === OUT_OF_MEMORY) return null;
    if (s.obj !== null && s.idx >= s.obj.size) {
      return actual === SIGBUS
        ? null
        : `access: expected SIGBUS (past the shmem object), got ${describe(actual)}`;
    }
    if (kind === 'write') {
      if (actual <= 0 || this.seenTokens.has(actual))
        return `access: expected a fresh token, got ${describe(actual)}`;
      this.seenTokens.add(actual);
      if (s.obj !== null) s.obj.tokens.set(s.idx, actual);
      else {
        // The writer's page is its own now (reused, or a copy made by the CoW fault).
        s.token = actual;
        s.frame = { id: this.nextFrame++ };
      }
      return null;
    }
    const want = s.obj !== null ? (s.obj.tokens.get(s.idx) ?? 0) : s.token;
    return actual === want ? null : `access: expected token ${want}, got ${describe(actual)}`;
  }

  // ------------------------------------------------------------------ internals

  /** Whether more than one page of all processes holds `frame` (fork's copy-on-write sharing). */
  private frameShared(frame: Frame | null): boolean {
    if (frame === null) return false;
    let n = 0;
    for (const sp of this.spaces) {
      for (const s of sp.pages.values()) if (s.frame === frame && ++n > 1) return true;
    }
    return false;
  }

  private newObject(size: number): ShmObject {
    return { id: this.nextObj++, size, tokens: new Map() };
  }

  private free(sp: Space, start: number, end: number): boolean {
    for (let v = start; v < end; v++) if (sp.pages.has(v)) return false;
    return true;
  }

  /** Split the piece running across the boundary between pages at-1 and at. */
  private split(sp: Space, at: number): void {
    const below = sp.pages.get(at - 1);
    const above = sp.pages.get(at);
    if (below === undefined || above === undefined || below.piece !== above.piece) return;
    const old = above.piece;
    const id = this.nextPiece++;
    for (let v = at; ; v++) {
      const s = sp.pages.get(v);
      if (s === undefined || s.piece !== old) break;
      s.piece = id;
    }
  }

  private unmap(sp: Space, start: number, end: number): void {
    if (end <= start) return;
    this.split(sp, start);
    this.split(sp, end);
    for (let v = start; v < end; v++) sp.pages.delete(v);
  }

  /** First page at or after `start` (below `end`) that is not mapped, or `end`. */
  private runEnd(p: number, start: number, end: number): number {
    const sp = this.spaces[p];
    let v = start;
    while (v < end && sp.pages.has(v)) v++;
    return v;
  }

  /** Whether a GUP populate of [start, end) meets a page it cannot fault in. */
  private populateFails(p: number, start: number, end: number): boolean {
    const sp = this.spaces[p];
    for (let v = start; v < end; v++) {
      const s = sp.pages.get(v);
      if (s !== undefined && (s.prot === 0 || (s.obj !== null && s.idx >= s.obj.size))) return true;
    }
    return false;
  }

  /** mprotect/mlock/munlock: from the start up to the first hole; ENOMEM for a hole. */
  private applyRun(
    p: number,
    page: number,
    pages: number,
    actual: CallResult,
    change: (s: PageState) => void,
  ): string | null {
    const sp = this.spaces[p];
    const end = page + pages;
    const stop = this.runEnd(p, page, end);
    const bad = expectResult(actual, stop < end ? 'ENOMEM' : 0);
    if (bad !== null) return bad;
    if (stop === page) return null;
    this.split(sp, page);
    this.split(sp, stop);
    for (let v = page; v < stop; v++) change(sp.pages.get(v)!);
    return null;
  }

  /** Is [start, end) inside one VMA? 'yes' (one piece), 'no' (a hole), or 'unknown'. */
  private oneVma(sp: Space, start: number, end: number): 'yes' | 'no' | 'unknown' {
    const first = sp.pages.get(start);
    if (first === undefined) return 'no';
    let one = true;
    for (let v = start + 1; v < end; v++) {
      const s = sp.pages.get(v);
      if (s === undefined) return 'no';
      if (s.piece !== first.piece) one = false;
    }
    return one ? 'yes' : 'unknown';
  }

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
    for (let i = old; i < n; i++)
      moved.push({ ...last, idx: last.idx + (i - old + 1), token: 0, frame: null, piece });
    if (dontunmap) {
      this.split(sp, s);
      this.split(sp, s + old);
      for (const x of src) {
        x.token = 0;
        x.frame = null;
        x.locked = false;
      }
    } else {
      this.unmap(sp, s, s + old);
    }
    for (let i = 0; i < n; i++) sp.pages.set(dst + i, moved[i]);
  }
}

/** Whether the page's content is not zero (a token was written). */
function hasContent(s: PageState): boolean {
  return s.obj !== null ? s.obj.tokens.has(s.idx) : s.token !== 0;
}

function overlaps(a: number, an: number, b: number, bn: number): boolean {
  return a < b + bn && b < a + an;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function describe(r: number): string {
  if (r === SIGSEGV) return 'SIGSEGV';
  if (r === SIGBUS) return 'SIGBUS';
  if (r === OUT_OF_MEMORY) return 'out of memory';
  return `token ${r}`;
}

function show(r: CallResult): string {
  return r.ok ? `ok(${r.value >= PAGE_SIZE ? hex(r.value) : r.value})` : r.errno;
}

function expectOk(actual: CallResult, value: number): string | null {
  if (actual.ok && actual.value === value) return null;
  return `expected ok(${value >= PAGE_SIZE ? hex(value) : value}), got ${show(actual)}`;
}

function expectErr(actual: CallResult, errno: string): string | null {
  if (!actual.ok && actual.errno === errno) return null;
  return `expected ${errno}, got ${show(actual)}`;
}

/** A result that is either ok(value) (a number) or an errno (a string). */
function expectResult(actual: CallResult, want: number | string): string | null {
  return typeof want === 'string' ? expectErr(actual, want) : expectOk(actual, want);
}
