// The reference model's address spaces (see reference-model.ts for the rules): the pages of
// each process slot, the pieces that stand for what the model knows of VMA boundaries, the
// frames that fork shares, and the bookkeeping the calls share (splitting pieces, unmapping,
// runs up to a hole, populating). ReferenceModel adds the calls.

import { FileSystemModel, fileContent } from './reference-files.js';
import {
  backing,
  type Frame,
  hasContent,
  type PageState,
  pastEnd,
  readsFile,
  type ShmObject,
  Space,
} from './reference-pages.js';
import { type CallResult, expectResult, PROT_WRITE, TokenLedger } from './reference-util.js';

export interface PageInfo {
  readonly prot: number;
  readonly locked: boolean;
  readonly onfault: boolean;
  /** 'anon', 'shm', or a file mapping: "NAME shared|private @INDEX". */
  readonly backing: string;
  readonly dontfork: boolean;
  readonly wipeonfork: boolean;
}

export interface Piece {
  readonly start: number;
  readonly end: number;
}

export class SpacesModel {
  protected readonly spaces: Space[] = [];
  protected nextPiece = 1;
  protected nextObj = 1;
  protected nextFrame = 1;
  protected readonly tokens = new TokenLedger();
  /** The files and their contents. */
  readonly fs: FileSystemModel;

  /**
   * `processes`: the process slots (an unused slot is an empty address space);
   * `oom`: the machine may run out of memory (see the header of reference-model.ts);
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
    this.fs = new FileSystemModel(this.tokens, oom);
  }

  // ------------------------------------------------------------------ queries

  /** Mapped pages of process p, ascending. */
  mappedPages(p: number): number[] {
    return [...this.spaces[p].pages.keys()].sort((a, b) => a - b);
  }

  /** Pages of process p that map a file, ascending. */
  filePages(p: number): number[] {
    const pages = this.spaces[p].pages;
    return this.mappedPages(p).filter((v) => pages.get(v)!.file !== null);
  }

  /** Pages of process p whose content is not zero (a token was written), and file pages; ascending. */
  writtenPages(p: number): number[] {
    const pages = this.spaces[p].pages;
    return this.mappedPages(p).filter((v) => hasContent(pages.get(v)!));
  }

  /**
   * Pages of process p that another process also has: the same address mapped with content
   * on one side at least (after a fork: a page inherited or passed on, then perhaps written by
   * one side), or the same content by other means (a private frame a fork shares, or a shmem
   * object, perhaps moved elsewhere by mremap), or a file page that another mapping (of any
   * process) also maps. Ascending.
   */
  commonPages(p: number): number[] {
    const frames = new Set<Frame>();
    const objs = new Set<ShmObject>();
    const filePages = new Map<string, number>();
    for (const sp of this.spaces) {
      for (const s of sp.pages.values()) {
        if (s.file === null) continue;
        const key = `${s.file.name}@${s.idx}`;
        filePages.set(key, (filePages.get(key) ?? 0) + 1);
      }
    }
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
      if (s.file !== null && filePages.get(`${s.file.name}@${s.idx}`)! > 1) return true;
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
      onfault: s.onfault,
      backing: backing(s),
      dontfork: s.dontfork,
      wipeonfork: s.wipeonfork,
    };
  }

  mappedCount(p: number): number {
    return this.spaces[p].pages.size;
  }

  /** The process exited (or was replaced by a new one). */
  reset(p: number): void {
    this.spaces[p] = new Space();
  }

  // ------------------------------------------------------------------ bookkeeping for the calls

  /**
   * GUP population of the mapped pages of [start, end) (populate_vma_page_range): a private
   * writable file page that still reads the file gets a copy of the file's page of its own
   * (FOLL_WRITE breaks CoW), so it stops following the file. A page GUP cannot fault
   * (PROT_NONE, past the end) is skipped, or with `stopAtFailure` (mlock) ends the walk;
   * VM_LOCKONFAULT pages are skipped. `certain`: no memory could run out, so the walk did not
   * stop early; otherwise each copy may or may not have been made.
   */
  protected populate(sp: Space, start: number, end: number, stopAtFailure: boolean, certain: boolean): void {
    for (let v = start; v < end; v++) {
      const s = sp.pages.get(v);
      if (s === undefined || s.onfault) continue;
      if (s.prot === 0 || pastEnd(s)) {
        if (stopAtFailure) return;
        continue;
      }
      if (!readsFile(s) || s.shared || (s.prot & PROT_WRITE) === 0) continue;
      const t = fileContent(s.file, s.idx);
      // The frame is taken at the first (possible) copy and kept: a fork after it shares it.
      s.frame ??= { id: this.nextFrame++ };
      // A page an earlier uncertain populate may have copied keeps that copy, if it was made.
      if (certain && (s.maybe === null || (s.maybe.length === 1 && s.maybe[0] === t))) {
        s.own = true;
        s.token = t;
        s.maybe = null;
      } else if (s.maybe === null) s.maybe = [t];
      else if (!s.maybe.includes(t)) s.maybe.push(t);
    }
  }

  /** Whether more than one page of all processes holds `frame` (fork's copy-on-write sharing). */
  protected frameShared(frame: Frame | null): boolean {
    if (frame === null) return false;
    let n = 0;
    for (const sp of this.spaces) {
      for (const s of sp.pages.values()) if (s.frame === frame && ++n > 1) return true;
    }
    return false;
  }

  protected newObject(size: number): ShmObject {
    return { id: this.nextObj++, size, tokens: new Map() };
  }

  protected free(sp: Space, start: number, end: number): boolean {
    for (let v = start; v < end; v++) if (sp.pages.has(v)) return false;
    return true;
  }

  /** Split the piece running across the boundary between pages at-1 and at. */
  protected split(sp: Space, at: number): void {
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

  protected unmap(sp: Space, start: number, end: number): void {
    if (end <= start) return;
    this.split(sp, start);
    this.split(sp, end);
    for (let v = start; v < end; v++) sp.pages.delete(v);
  }

  /** First page at or after `start` (below `end`) that is not mapped, or `end`. */
  protected runEnd(p: number, start: number, end: number): number {
    const sp = this.spaces[p];
    let v = start;
    while (v < end && sp.pages.has(v)) v++;
    return v;
  }

  /** Whether a GUP populate of [start, end) meets a page it cannot fault in. */
  protected populateFails(p: number, start: number, end: number): boolean {
    const sp = this.spaces[p];
    for (let v = start; v < end; v++) {
      const s = sp.pages.get(v);
      if (s !== undefined && (s.prot === 0 || pastEnd(s))) return true;
    }
    return false;
  }

  /** mprotect/mlock/munlock: from the start up to the first hole; ENOMEM for a hole. */
  protected applyRun(
    p: number,
    page: number,
    pages: number,
    actual: CallResult,
    change: (s: PageState, v: number) => void,
  ): string | null {
    const sp = this.spaces[p];
    const end = page + pages;
    const stop = this.runEnd(p, page, end);
    const bad = expectResult(actual, stop < end ? 'ENOMEM' : 0);
    if (bad !== null) return bad;
    if (stop === page) return null;
    this.split(sp, page);
    this.split(sp, stop);
    for (let v = page; v < stop; v++) change(sp.pages.get(v)!, v);
    return null;
  }

  /** Is [start, end) inside one VMA? 'yes' (one piece), 'no' (a hole), or 'unknown'. */
  protected oneVma(sp: Space, start: number, end: number): 'yes' | 'no' | 'unknown' {
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
}
