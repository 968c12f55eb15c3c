// File operations of the differential property test: each runs on vmlab and on the reference
// model, and after the sequence the files' contents are read back from the disk.

import type { Task } from '../src/mm/mm.js';
import type { System } from '../src/sim/system.js';
import { type FileOp, mmapReq, WIN } from './property-ops.js';
import { filePages } from './reference-files.js';
import { type CallResult, PAGE_SIZE, type ReferenceModel } from './reference-model.js';

const PROT_NAMES = ['---', 'r--', '-w-', 'rw-', '--x', 'r-x', '-wx', 'rwx'];

export interface Step {
  /** The call as made, with vmlab's result. */
  readonly what: string;
  /** The difference from the model, or null. */
  readonly bad: string | null;
}

export const fileName = (f: number): string => `f${f}`;

/** The file an operation on slot f means: f modulo the files that exist (if none, slot f: ENOENT). */
function existingFile(model: ReferenceModel, f: number): string {
  const names = [...model.fs.files.keys()].sort();
  return names.length === 0 ? fileName(f) : names[f % names.length];
}

/** Operations that need no process: create, sync, drop_caches. */
export function runGlobalFileOp(
  sys: System,
  model: ReferenceModel,
  op: FileOp & { op: 'create' | 'sync' | 'dropCaches' },
): Step {
  if (op.op === 'sync') {
    sys.sync();
    return { what: 'sync', bad: null };
  }
  if (op.op === 'dropCaches') {
    // Changes no contents (reference-model.ts); the checker runs after it.
    const n = sys.dropCaches(op.mode);
    return { what: `drop_caches ${op.mode} = ${n} pages and objects`, bad: null };
  }
  const name = fileName(op.f);
  const r = sys.createFile(name, op.size, op.cached);
  const what = `create ${name} ${op.size} B${op.cached ? ', cached' : ''} = ${show(r)}`;
  return { what, bad: model.create(name, op.size, r, (i) => sys.filePageToken(name, i) ?? -1) };
}

/** Operations by the process in slot p. */
export function runFileOp(
  sys: System,
  model: ReferenceModel,
  p: number,
  task: Task,
  op: FileOp & { op: 'mmapFile' | 'read' | 'write' | 'truncate' | 'fsync' },
): Step {
  const name = existingFile(model, op.f);
  const peek = (i: number) => sys.filePageToken(name, i) ?? -1;
  switch (op.op) {
    case 'mmapFile': {
      const page = WIN + op.page;
      const hint = op.mode === 'any' ? 0 : page;
      const req = mmapReq(hint, op.len, op.prot, op.shared, op.mode, op.populate, op.locked, false);
      const r = sys.mmapFile(task, name, op.offset * PAGE_SIZE, req);
      const flags = `${op.shared ? 'shared' : 'private'}, ${op.mode}${op.populate ? ', populate' : ''}${op.locked ? ', locked' : ''}`;
      const what = `p${p} mmap(${addr(hint)}, ${op.len}p, ${PROT_NAMES[op.prot]}, ${flags}, ${name} @${op.offset}p) = ${show(r)}`;
      const args = {
        page,
        pages: op.len,
        prot: op.prot,
        shared: op.shared,
        mode: op.mode,
        locked: op.locked,
        populate: op.populate,
        file: name,
        offset: op.offset,
      };
      return { what, bad: model.mmap(p, args, r) };
    }
    case 'read': {
      const r = sys.read(task, name, op.off, op.len);
      return {
        what: `p${p} read(${name}, ${op.off}, ${op.len}) = ${show(r)}`,
        bad: model.read(name, op.off, op.len, r),
      };
    }
    case 'write': {
      const r = sys.write(task, name, op.off, op.len);
      const what = `p${p} write(${name}, ${op.off}, ${op.len}) = ${show(r)}`;
      return { what, bad: model.write(name, op.off, op.len, r, peek) };
    }
    case 'truncate': {
      const r = sys.truncate(task, name, op.size);
      return {
        what: `p${p} truncate(${name}, ${op.size}) = ${show(r)}`,
        bad: model.truncate(name, op.size, r, peek),
      };
    }
    case 'fsync': {
      const r = sys.fsync(task, name);
      return { what: `p${p} fsync(${name}) = ${show(r)}`, bad: model.fsync(name, r) };
    }
  }
}

/**
 * After every process has exited: sync and drop_caches must leave no page in the cache (all
 * clean, none mapped), and the files must then read back from the disk as the model says:
 * contents survive writeback and eviction. A fresh process maps each file and reads every
 * page. Returns the first difference, or null.
 */
export function checkFilesOnDisk(sys: System, model: ReferenceModel): string | null {
  const k = sys.kernel;
  sys.sync();
  sys.dropCaches(1);
  if (k.filePages !== 0 || k.dirtyPages !== 0)
    return `after sync and drop_caches: ${k.filePages} pages cached, ${k.dirtyPages} dirty`;
  const t = sys.spawn('reader', 0);
  if (t === null) return 'spawn of the reader failed';
  const bad = readBack(sys, model, t);
  sys.exit(t);
  sys.dropCaches(1);
  return bad;
}

/** Map every file into `t` and read every page it covers. */
function readBack(sys: System, model: ReferenceModel, t: Task): string | null {
  for (const f of model.fs.files.values()) {
    const pages = filePages(f);
    if (pages === 0) continue;
    const r = sys.mmapFile(t, f.name, 0, mmapReq(0, pages, 1, true, 'any', false, false, false));
    if (!r.ok) return `reader: mmap of ${f.name} failed: ${r.errno}`;
    for (let i = 0; i < pages; i++) {
      const got = sys.access(t, r.value + i * PAGE_SIZE, 'read');
      const want = f.pages.get(i) ?? 0;
      if (got !== want)
        return `reader: ${f.name} page ${i} reads ${got} from the disk, the model says ${want}`;
    }
  }
  return null;
}

function addr(page: number): string {
  return `0x${(page * PAGE_SIZE).toString(16)}`;
}

function show(r: CallResult): string {
  return r.ok ? (r.value >= PAGE_SIZE * 16 ? `0x${r.value.toString(16)}` : String(r.value)) : r.errno;
}
