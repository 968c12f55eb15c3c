// The reference model's file system: what Linux promises about the contents and sizes of
// regular files through read(2), write(2), truncate(2), fsync(2), sync(2) and drop_caches.
// The promises on mappings of files live in reference-model.ts; its header lists them all.
//
// A file is its size and the content of each page: a token, or 0 for zeros. The page cache,
// the disk and writeback are not modelled at all: Linux promises that none of them is visible
// in the contents (a read, a shared mapping and a read after the page left the cache all see
// the same data), so the model has one copy of every page.
//
// Tokens of new contents are not returned by the calls that make them (write, truncate,
// creating a file); the test reads them with System.filePageToken, an inspection without side
// effects, and the model checks that each is new (never seen before) and then holds vmlab to
// it: every later read must return it.

import { type CallResult, expectErr, expectOk, PAGE_SIZE, type TokenLedger } from './reference-util.js';

export interface FileObj {
  readonly name: string;
  /** i_size, bytes. */
  size: number;
  /** Content token of each page; absent: zeros (a hole, or never written). */
  readonly pages: Map<number, number>;
}

/** Pages the file covers: DIV_ROUND_UP(i_size, PAGE_SIZE); a mapped page at or past it is SIGBUS. */
export function filePages(f: FileObj): number {
  return Math.ceil(f.size / PAGE_SIZE);
}

export function fileContent(f: FileObj, idx: number): number {
  return f.pages.get(idx) ?? 0;
}

/** Token of page `idx` of the named file in vmlab (System.filePageToken). */
export type PeekToken = (idx: number) => number;

export class FileSystemModel {
  readonly files = new Map<string, FileObj>();

  constructor(
    private readonly tokens: TokenLedger,
    private readonly oom: boolean,
  ) {}

  /**
   * A file of `size` bytes with distinct data in every page (vmlab's createFile: as if
   * written and synced before the run). EEXIST when the name is taken. Caching it may run out
   * of memory (ENOMEM); the file exists all the same, its contents on the disk.
   */
  create(name: string, size: number, actual: CallResult, peek: PeekToken): string | null {
    if (this.files.has(name)) return expectErr(actual, 'EEXIST');
    if (!(this.oom && !actual.ok && actual.errno === 'ENOMEM')) {
      const bad = expectOk(actual, 0);
      if (bad !== null) return bad;
    }
    const f: FileObj = { name, size, pages: new Map() };
    for (let i = 0; i < filePages(f); i++) {
      const t = peek(i);
      const bad = this.tokens.fresh(t, `create ${name}: page ${i}`);
      if (bad !== null) return bad;
      f.pages.set(i, t);
    }
    this.files.set(name, f);
    return null;
  }

  /**
   * read(2): the bytes from `off` up to the end of the request or of the file, 0 at or past
   * the end. Out of memory, filemap_read returns what it copied before the failure, or ENOMEM
   * when that is nothing.
   */
  read(name: string, off: number, len: number, actual: CallResult): string | null {
    const f = this.files.get(name);
    if (f === undefined) return expectErr(actual, 'ENOENT');
    const n = Math.max(0, Math.min(off + len, f.size) - off);
    if (this.oom && n > 0 && (actual.ok ? actual.value > 0 && actual.value < n : actual.errno === 'ENOMEM'))
      return null;
    return expectOk(actual, n);
  }

  /**
   * write(2): every page the written bytes touch gets new contents, and the file grows to
   * cover them. Out of memory, generic_perform_write returns the bytes written before the
   * failure (those pages are changed), or ENOMEM when nothing was written.
   */
  write(name: string, off: number, len: number, actual: CallResult, peek: PeekToken): string | null {
    const f = this.files.get(name);
    if (f === undefined) return expectErr(actual, 'ENOENT');
    if (len === 0) return expectOk(actual, 0);
    let n = len;
    if (this.oom && !actual.ok && actual.errno === 'ENOMEM') return null;
    if (this.oom && actual.ok && actual.value > 0 && actual.value < len) n = actual.value;
    else {
      const bad = expectOk(actual, len);
      if (bad !== null) return bad;
    }
    const end = Math.ceil((off + n) / PAGE_SIZE);
    for (let i = Math.floor(off / PAGE_SIZE); i < end; i++) {
      const t = peek(i);
      const bad = this.tokens.fresh(t, `write ${name}: page ${i}`);
      if (bad !== null) return bad;
      f.pages.set(i, t);
    }
    f.size = Math.max(f.size, off + n);
    return null;
  }

  /**
   * truncate(2) to `size`: shrinking drops the pages past the new end (growing them again
   * gives zeros) and zeroes the rest of a partial last page. A token cannot tell whether that
   * tail held data, so the page keeps its token or gets a fresh one; zeros stay zeros.
   * Growing adds zeros. (The mappings' side is the caller's: ReferenceModel.truncate.)
   * Out of memory, a shrink may fail with ENOMEM after the size changed and the pages went
   * (ext4_truncate cannot bring the partial page into the cache to zero it).
   */
  truncate(name: string, size: number, actual: CallResult, peek: PeekToken): string | null {
    const f = this.files.get(name);
    if (f === undefined) return expectErr(actual, 'ENOENT');
    const tail = size < f.size && size % PAGE_SIZE !== 0;
    if (!(this.oom && tail && !actual.ok && actual.errno === 'ENOMEM')) {
      const bad = expectOk(actual, 0);
      if (bad !== null) return bad;
    }
    if (size < f.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      for (const i of [...f.pages.keys()]) if (i >= keep) f.pages.delete(i);
      if (size % PAGE_SIZE !== 0) {
        const i = keep - 1;
        const old = fileContent(f, i);
        const t = peek(i);
        if (old === 0 && t !== 0) return `truncate ${name}: page ${i} held zeros, now token ${t}`;
        if (t !== old) {
          const stale = this.tokens.fresh(t, `truncate ${name}: page ${i} (old token ${old})`);
          if (stale !== null) return stale;
          f.pages.set(i, t);
        }
      }
    }
    f.size = size;
    return null;
  }

  /** fsync(2): writes back; contents do not change. */
  fsync(name: string, actual: CallResult): string | null {
    return this.files.has(name) ? expectOk(actual, 0) : expectErr(actual, 'ENOENT');
  }
}
