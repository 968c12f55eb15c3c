// The reference model's pages: what one mapped page of a process is (its protection, lock,
// fork advice and backing) and what a read of it finds. See reference-model.ts for the rules.

import { type FileObj, fileContent, filePages } from './reference-files.js';

/** An unnamed shmem object: its size in pages and the tokens of the pages ever written. */
export interface ShmObject {
  readonly id: number;
  readonly size: number;
  readonly tokens: Map<number, number>;
}

/** The identity of the physical page behind a page a process has of its own. */
export interface Frame {
  readonly id: number;
  /** A fork shared it at some time (see `thp` in SpacesModel's constructor). */
  everShared?: boolean;
}

export interface PageState {
  prot: number;
  /** VM_LOCKED, and VM_LOCKONFAULT (mlock2 MLOCK_ONFAULT: a populate skips the page). */
  locked: boolean;
  onfault: boolean;
  /** MADV_DONTFORK: not copied into a child. */
  dontfork: boolean;
  /** MADV_WIPEONFORK: copied into a child zero-filled. */
  wipeonfork: boolean;
  /** Shared anonymous memory: its shmem object. */
  obj: ShmObject | null;
  /** A file mapping: the file. */
  file: FileObj | null;
  /** MAP_SHARED (always for a shmem object). */
  shared: boolean;
  /** Page index within obj or file. */
  idx: number;
  /**
   * Private file pages: whether the process has a page of its own here, a copy made by a
   * store or by a populate (breaking CoW); until then the page reads the file.
   */
  own: boolean;
  /** Private anonymous memory, and private file pages with `own`: the content (0: zeros). */
  token: number;
  /** The page holding `token`, shared with a child by fork until one side writes. */
  frame: Frame | null;
  /**
   * Out-of-memory runs, private file pages without `own`: a populate that may have stopped
   * early may have given the page a copy holding one of these tokens (or not).
   */
  maybe: number[] | null;
  /** Piece id: pages with equal ids form a run that lies inside one VMA. */
  piece: number;
}

export class Space {
  readonly pages = new Map<number, PageState>();
}

/** Whether a read of the page finds the file's page (a shared or not yet copied private page). */
export function readsFile(s: PageState): s is PageState & { file: FileObj } {
  return s.file !== null && (s.shared || !s.own);
}

/** What a read of the page returns (when it is inside its object or file). */
export function content(s: PageState): number {
  if (s.obj !== null) return s.obj.tokens.get(s.idx) ?? 0;
  if (readsFile(s)) return fileContent(s.file, s.idx);
  return s.token;
}

/** Whether the page lies past the end of its shmem object or file: access is SIGBUS. */
export function pastEnd(s: PageState): boolean {
  if (s.obj !== null) return s.idx >= s.obj.size;
  return readsFile(s) && s.idx >= filePages(s.file);
}

/**
 * Whether the page is certainly in memory and mapped: a private page holding a written token
 * or a copy (no swap, no reclaim of anonymous memory). Anything else may need a page (a file
 * page may have left the cache) or a page table when touched.
 */
export function resident(s: PageState): boolean {
  if (s.file !== null) return !s.shared && s.own;
  return s.obj === null && s.token !== 0;
}

/** Whether the page is worth reading back: written private memory, written shmem, any file page. */
export function hasContent(s: PageState): boolean {
  if (s.file !== null) return true;
  return s.obj !== null ? s.obj.tokens.has(s.idx) : s.token !== 0;
}

/** The private part of the page is gone (zap, DONTUNMAP, truncate): zeros, or the file again. */
export function dropPrivate(s: PageState): void {
  s.token = 0;
  s.frame = null;
  s.own = false;
  s.maybe = null;
}

/** The page's backing as the test also describes vmlab's VMA: anon, shm, or file, kind and index. */
export function backing(s: PageState): string {
  if (s.file !== null) return `${s.file.name} ${s.shared ? 'shared' : 'private'} @${s.idx}`;
  return s.obj !== null ? 'shm' : 'anon';
}
