import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { META_STRUCTURES, SYSTEM_COUNTERS } from '../sim/counter-names.js';
import { formatScenarioError, parseScenario } from './parse.js';
import type { Scenario } from './scenario.js';
import { byCloseness } from './suggest.js';

const FILE = 'test.yaml';

/** A scenario whose steps start on line 6. */
function withSteps(...steps: string[]): string {
  return [
    'vmlab: 1',
    'name: t',
    'machine: { cpus: 2, memory: 4GiB }',
    'design: linux',
    'steps:',
    ...steps,
    '',
  ].join('\n');
}

function parsed(text: string, file = FILE): Scenario {
  const r = parseScenario(text, file);
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.scenario;
}

/** The formatted errors, or [] when the text parses. */
function errors(text: string, file = FILE): string[] {
  const r = parseScenario(text, file);
  return r.ok ? [] : r.errors.map(formatScenarioError);
}

/** Counter names an expect step without `in` accepts, as the parser lists them. */
const SYSTEM_EXPECTABLE = [
  ...Object.keys(SYSTEM_COUNTERS),
  ...Object.keys(META_STRUCTURES).flatMap((s) => [`meta.${s}`, `meta_peak.${s}`]),
];

const loc = (line: number, column: number) => ({ file: FILE, line, column });

const EXAMPLE = `vmlab: 1
name: anon-touch
description: Touch 1 GiB of anonymous memory
seed: 7
machine:
  cpus: 2
  memory: 4GiB
  paging: x86-64-5level
  tlb: { entries: 64, ways: 4 }
  max_map_count: 1000
  fault_around_bytes: 32768
  read_ahead_kb: 256
design: linux
steps:
  - spawn: app
  - spawn: { name: db, cpu: 1 }
  - mmap: { in: app, as: buf, size: 1GiB, prot: rw, flags: [private, anonymous], addr: 0x400000000000, fixed: true }
  - munmap: { in: app, region: buf, offset: 0, length: 4KiB }
  - mprotect: { in: app, region: buf, offset: 8KiB, length: 8KiB, prot: r }
  - mremap: { in: app, region: buf, new_size: 2GiB, flags: [maymove, fixed], new_addr: 0x500000000000 }
  - madvise: { in: app, addr: 0x500000000000, length: 2MiB, advice: dontneed }
  - mlock: { in: app, region: buf, onfault: true }
  - munlock: { in: app, region: buf }
  - brk: { in: app, delta: -64KiB, as: heap }
  - brk: { in: app, addr: 0x600000 }
  - touch: { in: app, region: buf, op: write, pattern: strided, count: 3, cpu: 1 }
  - touch: { in: app, region: heap, op: read, pattern: random, expect_error: SIGSEGV }
  - touch: { in: app, addr: 0x1000, length: 4KiB, op: exec }
    expect_error: SIGBUS
  - expect: { in: app, min_flt: 262144, RssAnon: 1GiB, VmPTE: 2056KiB, map_count: 3, VmRSS: { min: 1MiB, max: 2MiB } }
  - expect: { pgfault: { max: 10 }, meta.anon_vma: 0, meta_peak.page_table: 8KiB }
  - exit: app
  - exit: { in: db }
`;

describe('parseScenario: format v1', () => {
  it('parses every step kind to the typed Scenario', () => {
    const s = parsed(EXAMPLE);
    expect(s).toEqual({
      file: FILE,
      name: 'anon-touch',
      description: 'Touch 1 GiB of anonymous memory',
      seed: 7,
      machine: {
        cpus: 2,
        nodes: [4 * 2 ** 30],
        paging: 'x86-64-5level',
        tlb: { entries: 64, ways: 4 },
        maxMapCount: 1000,
        faultAroundBytes: 32768,
        maxFolioOrder: 9,
        readAheadKb: 256,
        swapBytes: 0,
        oomKiller: true,
        thp: {
          enabled: 'madvise',
          useZeroPage: true,
          pagesToScan: 4096,
          maxPtesNone: 511,
          maxPtesSwap: 64,
          maxPtesShared: 256,
        },
        devices: [],
      },
      design: 'linux',
      designs: ['linux'],
      steps: [
        { loc: loc(15, 5), index: 0, kind: 'spawn', name: 'app' },
        { loc: loc(16, 5), index: 1, kind: 'spawn', name: 'db', cpu: 1 },
        {
          loc: loc(17, 5),
          index: 2,
          kind: 'mmap',
          in: 'app',
          as: 'buf',
          size: 2 ** 30,
          prot: 'rw',
          flags: ['private', 'anonymous'],
          addr: 0x400000000000,
          fixed: true,
        },
        {
          loc: loc(18, 5),
          index: 3,
          kind: 'munmap',
          in: 'app',
          range: { region: 'buf', offset: 0, length: 4096 },
        },
        {
          loc: loc(19, 5),
          index: 4,
          kind: 'mprotect',
          in: 'app',
          range: { region: 'buf', offset: 8192, length: 8192 },
          prot: 'r',
        },
        {
          loc: loc(20, 5),
          index: 5,
          kind: 'mremap',
          in: 'app',
          range: { region: 'buf' },
          newSize: 2 ** 31,
          flags: ['maymove', 'fixed'],
          newAddr: 0x500000000000,
        },
        {
          loc: loc(21, 5),
          index: 6,
          kind: 'madvise',
          in: 'app',
          range: { addr: 0x500000000000, length: 2 ** 21 },
          advice: 'dontneed',
        },
        { loc: loc(22, 5), index: 7, kind: 'mlock', in: 'app', range: { region: 'buf' }, onfault: true },
        { loc: loc(23, 5), index: 8, kind: 'munlock', in: 'app', range: { region: 'buf' } },
        { loc: loc(24, 5), index: 9, kind: 'brk', in: 'app', delta: -65536, as: 'heap' },
        { loc: loc(25, 5), index: 10, kind: 'brk', in: 'app', addr: 0x600000 },
        {
          loc: loc(26, 5),
          index: 11,
          kind: 'touch',
          in: 'app',
          range: { region: 'buf' },
          op: 'write',
          pattern: 'strided',
          stride: 4096,
          count: 3,
          cpu: 1,
        },
        {
          loc: loc(27, 5),
          index: 12,
          expectError: 'SIGSEGV',
          kind: 'touch',
          in: 'app',
          range: { region: 'heap' },
          op: 'read',
          pattern: 'random',
        },
        {
          loc: loc(28, 5),
          index: 13,
          expectError: 'SIGBUS',
          kind: 'touch',
          in: 'app',
          range: { addr: 0x1000, length: 4096 },
          op: 'exec',
          pattern: 'sequential',
        },
        {
          loc: loc(30, 5),
          index: 14,
          kind: 'expect',
          in: 'app',
          values: {
            min_flt: 262144,
            RssAnon: 2 ** 30,
            VmPTE: 2056 * 1024,
            map_count: 3,
            VmRSS: { min: 2 ** 20, max: 2 ** 21 },
          },
          valueLocs: {
            min_flt: loc(30, 24),
            RssAnon: loc(30, 41),
            VmPTE: loc(30, 56),
            map_count: loc(30, 72),
            VmRSS: loc(30, 86),
          },
        },
        {
          loc: loc(31, 5),
          index: 15,
          kind: 'expect',
          values: { pgfault: { max: 10 }, 'meta.anon_vma': 0, 'meta_peak.page_table': 8192 },
          valueLocs: {
            pgfault: loc(31, 15),
            'meta.anon_vma': loc(31, 37),
            'meta_peak.page_table': loc(31, 55),
          },
        },
        { loc: loc(32, 5), index: 16, kind: 'exit', in: 'app' },
        { loc: loc(33, 5), index: 17, kind: 'exit', in: 'db' },
      ],
    });
  });

  it('fills the defaults: seed, paging, TLB, max_map_count, mmap flags, touch pattern', () => {
    const s = parsed(
      withSteps(
        '  - spawn: a',
        '  - mmap: { in: a, size: 4KiB, prot: rw }',
        '  - touch: { in: a, addr: 0, length: 1, op: read }',
      ),
    );
    expect(s.seed).toBe(1);
    expect(s.machine).toEqual({
      cpus: 2,
      nodes: [4 * 2 ** 30],
      paging: 'x86-64-4level',
      tlb: { entries: 1536, ways: 12 },
      maxMapCount: 65530,
      faultAroundBytes: 65536,
      maxFolioOrder: 9,
      readAheadKb: 128,
      swapBytes: 0,
      oomKiller: true,
      thp: {
        enabled: 'madvise',
        useZeroPage: true,
        pagesToScan: 4096,
        maxPtesNone: 511,
        maxPtesSwap: 64,
        maxPtesShared: 256,
      },
      devices: [],
    });
    expect(s.steps[1]).toEqual({
      loc: loc(7, 5),
      index: 1,
      kind: 'mmap',
      in: 'a',
      size: 4096,
      prot: 'rw',
      flags: ['private', 'anonymous'],
      fixed: false,
    });
    expect(s.steps[2]).toMatchObject({ kind: 'touch', pattern: 'sequential' });
    expect(s.steps[2]).not.toHaveProperty('stride');
  });

  it('reads the THP setting as a mode or a mapping, and the khugepaged and drop_caches steps', () => {
    const head = (thp: string) =>
      [
        'vmlab: 1',
        'name: t',
        `machine: { cpus: 1, memory: 64MiB, thp: ${thp} }`,
        'design: linux',
        'steps:',
      ].join('\n');
    expect(parsed(`${head('always')}\n  - spawn: a\n`).machine.thp).toMatchObject({
      enabled: 'always',
      useZeroPage: true,
      maxPtesNone: 511,
    });
    const s = parsed(
      [
        head(
          '{ enabled: never, use_zero_page: false, pages_to_scan: 512, max_ptes_none: 0, max_ptes_shared: 1, max_ptes_swap: 2 }',
        ),
        '  - spawn: a',
        '  - mmap: { in: a, as: m, size: 4MiB, prot: rw }',
        '  - madvise: { in: a, region: m, advice: hugepage }',
        '  - madvise: { in: a, region: m, advice: nohugepage }',
        '  - khugepaged: { passes: 3 }',
        '  - khugepaged: { full_scans: 1 }',
        '  - drop_caches: 2',
        '',
      ].join('\n'),
    );
    expect(s.machine.thp).toEqual({
      enabled: 'never',
      useZeroPage: false,
      pagesToScan: 512,
      maxPtesNone: 0,
      maxPtesSwap: 2,
      maxPtesShared: 1,
    });
    expect(s.steps.slice(2).map((x) => ({ ...x, loc: undefined }))).toEqual([
      { loc: undefined, index: 2, kind: 'madvise', in: 'a', range: { region: 'm' }, advice: 'hugepage' },
      { loc: undefined, index: 3, kind: 'madvise', in: 'a', range: { region: 'm' }, advice: 'nohugepage' },
      { loc: undefined, index: 4, kind: 'khugepaged', passes: 3 },
      { loc: undefined, index: 5, kind: 'khugepaged', fullScans: 1 },
      { loc: undefined, index: 6, kind: 'drop_caches', mode: 2 },
    ]);
    expect(errors(`${head('sometimes')}\n  - spawn: a\n`)).toEqual([
      "test.yaml:3:41: machine.thp: unknown value 'sometimes' (expected one of always, madvise, never)",
    ]);
    expect(
      errors(`${head('never')}\n  - khugepaged: { passes: 1, full_scans: 1 }\n  - drop_caches: 4\n`),
    ).toEqual([
      'test.yaml:6:42: steps[0].khugepaged.full_scans: passes and full_scans cannot both be given (expected one of passes or full_scans)',
      'test.yaml:7:18: steps[1].drop_caches: 4 is above 3 (expected an integer from 1 to 3)',
    ]);
  });

  it('reads nodes, and block-style steps with expect_error beside the step key', () => {
    const s = parsed(
      [
        'vmlab: 1',
        'name: numa',
        'machine:',
        '  cpus: 4',
        '  nodes: [2GiB, "8 MiB", 0x400000]',
        'design: linux',
        'steps:',
        '  - spawn:',
        '      name: p',
        '      cpu: 3',
        '  - mmap:',
        '      in: p',
        '      size: 1MiB',
        '      prot: none',
        '    expect_error: ENOMEM',
      ].join('\n'),
    );
    expect(s.machine.nodes).toEqual([2 ** 31, 8 * 2 ** 20, 4 * 2 ** 20]);
    expect(s.steps).toEqual([
      { loc: loc(8, 5), index: 0, kind: 'spawn', name: 'p', cpu: 3 },
      {
        loc: loc(11, 5),
        index: 1,
        expectError: 'ENOMEM',
        kind: 'mmap',
        in: 'p',
        size: 2 ** 20,
        prot: 'none',
        flags: ['private', 'anonymous'],
        fixed: false,
      },
    ]);
  });

  it('reads JSON through the same path, with positions', () => {
    const json = JSON.stringify(
      {
        vmlab: 1,
        name: 'j',
        machine: { cpus: 1, memory: '4MiB' },
        design: 'linux',
        steps: [{ spawn: 'a' }, { mmap: { in: 'a', size: 8192, prot: 'rw', addr: '0x10000' } }],
      },
      null,
      2,
    );
    const s = parsed(json, 'j.json');
    expect(s.machine.nodes).toEqual([4 * 2 ** 20]);
    expect(s.steps[1]).toEqual({
      loc: { file: 'j.json', line: 13, column: 5 },
      index: 1,
      kind: 'mmap',
      in: 'a',
      size: 8192,
      prot: 'rw',
      flags: ['private', 'anonymous'],
      addr: 0x10000,
      fixed: false,
    });
    const bad = json.replace('"prot": "rw"', '"prot": "rwz"');
    expect(errors(bad, 'j.json')).toEqual([
      "j.json:17:17: steps[1].mmap.prot: unknown value 'rwz'; did you mean 'rw'? (expected one of none, r, w, x, rw, rx, wx, rwx)",
    ]);
  });

  it('reads sizes and addresses in every supported spelling, exactly', () => {
    const sizes = ['4096', '0x1000', '4KiB', '4 KiB', '4kB', '4K', '0.5 KiB', '"4KiB"', '1T'];
    const got = sizes.map((text) => {
      const s = parsed(withSteps('  - spawn: a', `  - mmap: { in: a, size: ${text}, prot: rw }`));
      return (s.steps[1] as { size: number }).size;
    });
    expect(got).toEqual([4096, 4096, 4096, 4096, 4096, 4096, 512, 4096, 2 ** 40]);
    const high = parsed(
      withSteps('  - spawn: a', '  - munmap: { in: a, addr: 0x1fffffffffffff, length: 0x20000000000000 }'),
    );
    expect(high.steps[1]).toMatchObject({ range: { addr: 2 ** 53 - 1, length: 2 ** 53 } });
  });
});

describe('parseScenario: errors carry file:line:column and the field', () => {
  it('names an unknown key and the allowed ones', () => {
    expect(errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 4KiB, prot: rw, sise: 1 }'))).toEqual([
      "test.yaml:7:42: steps[1].mmap.sise: unknown key 'sise'; did you mean 'size'? (expected one of in, as, size, prot, flags, addr, fixed, file, offset, huge_size, expect_error)",
    ]);
    expect(errors(withSteps('  - mmapp: { in: a }'))).toEqual([
      "test.yaml:6:5: steps[0].mmapp: unknown key 'mmapp'; did you mean 'mmap'? (expected one of spawn, exit, fork, exec, mmap, munmap, mprotect, mremap, madvise, mlock, munlock, brk, create, read, write, truncate, fsync, msync, sync, balloon, touch, khugepaged, drop_caches, expect, attach, detach, device, migrate, evict, hmadvise, expect_error, design)",
    ]);
  });

  it('reports a bad size at the value', () => {
    expect(errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 1.3KiB, prot: rw }'))).toEqual([
      "test.yaml:7:26: steps[1].mmap.size: '1.3KiB' is not a whole number of bytes (expected a size such as 4096, 0x1000 or 4KiB, at least 1B)",
    ]);
    expect(errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 2MB, prot: rw }'))).toEqual([
      "test.yaml:7:26: steps[1].mmap.size: unknown unit 'MB' (did you mean MiB? units are binary: B, K, KB, kB, KiB, M, MiB, G, GiB, T, TiB) (expected a size such as 4096, 0x1000 or 4KiB, at least 1B)",
    ]);
    expect(errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 0, prot: rw }'))).toEqual([
      'test.yaml:7:26: steps[1].mmap.size: 0 is below 1B (expected a size such as 4096, 0x1000 or 4KiB, at least 1B)',
    ]);
    expect(
      errors(withSteps('  - spawn: a', '  - munmap: { in: a, addr: 9007199254740993, length: 1 }')),
    ).toEqual([
      "test.yaml:7:28: steps[1].munmap.addr: '9007199254740993' is above 2^53 bytes (up to 2^57 if a multiple of 4 KiB) (expected an address such as 0x400000000000)",
    ]);
  });

  it('reports a missing required key at its mapping', () => {
    expect(errors(withSteps('  - spawn: a', '  - mmap: { in: a, prot: rw }'))).toEqual([
      "test.yaml:7:11: steps[1].mmap.size: missing required key 'size' (expected a size such as 4096, 0x1000 or 4KiB, at least 1B)",
    ]);
    expect(errors('vmlab: 1\nname: t\nmachine: { memory: 4GiB }\nsteps: []\n')).toEqual([
      "test.yaml:1:1: design: missing required key 'design' (expected one of linux, hmm, gmem, or a list, each one of linux, hmm, gmem)",
      "test.yaml:3:10: machine.cpus: missing required key 'cpus' (expected an integer from 1 to 1024)",
    ]);
  });

  it('lists the allowed values of a bad enum', () => {
    expect(errors(withSteps('  - spawn: a', '  - touch: { in: a, addr: 0, length: 1, op: wrte }'))).toEqual([
      "test.yaml:7:45: steps[1].touch.op: unknown value 'wrte'; did you mean 'write'? (expected one of read, write, exec)",
    ]);
    expect(
      errors(
        withSteps(
          '  - spawn: a',
          '  - touch: { in: a, addr: 0, length: 1, op: read }',
          '    expect_error: SEGV',
        ),
      ),
    ).toEqual([
      "test.yaml:8:19: steps[1].expect_error: unknown value 'SEGV' (expected one of EPERM, ENOENT, EINTR, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, ENFILE, EMFILE, EFBIG, ENOSPC, EOVERFLOW, EOPNOTSUPP, SIGSEGV, SIGBUS, SIGKILL)",
    ]);
  });

  it('reports a value of the wrong type', () => {
    expect(
      errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 4KiB, prot: rw, fixed: yes }')),
    ).toEqual([
      "test.yaml:7:49: steps[1].mmap.fixed: wrong type: the string 'yes' (YAML 1.2 reads only true and false as booleans) (expected true or false)",
    ]);
    expect(errors(withSteps('  - spawn: 42'))).toEqual([
      'test.yaml:6:12: steps[0].spawn: wrong type: the number 42; quote it to make it a string: "42" (expected a process name (letters, digits, _ . -, starting with a letter or _))',
    ]);
    expect(
      errors(withSteps('  - spawn: a', '  - mmap: { in: a, size: 4KiB, prot: rw, flags: private }')),
    ).toEqual([
      "test.yaml:7:49: steps[1].mmap.flags: wrong type: the string 'private' (expected a list, each one of private, shared, anonymous, populate, locked, noreserve, fixed_noreplace, hugetlb, peer_shared)",
    ]);
    expect(errors(withSteps('  - [spawn, a]'))).toEqual([
      'test.yaml:6:5: steps[0]: wrong type: a list (expected a mapping with one step key: spawn, exit, fork, exec, mmap, munmap, mprotect, mremap, madvise, mlock, munlock, brk, create, read, write, truncate, fsync, msync, sync, balloon, touch, khugepaged, drop_caches, expect, attach, detach, device, migrate, evict, hmadvise)',
    ]);
    expect(errors('- vmlab\n')).toEqual([
      'test.yaml:1:1: wrong type: a list (expected a mapping with keys $schema, vmlab, name, description, seed, machine, design, steps)',
    ]);
  });

  it('turns YAML syntax errors into positioned errors without a field', () => {
    expect(errors('vmlab: 1\nname: [t\nmachine: {}\n')).toEqual([
      'test.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(errors('vmlab: 1\nvmlab: 1\n')).toEqual([
      'test.yaml:2:1: YAML syntax error: Map keys must be unique',
    ]);
    expect(errors('')).toEqual([
      'test.yaml:1:1: the file is empty (expected a mapping with keys $schema, vmlab, name, description, seed, machine, design, steps)',
    ]);
  });

  it('requires a region defined by an earlier mmap or brk in the same process', () => {
    expect(
      errors(
        withSteps(
          '  - spawn: a',
          '  - spawn: b',
          '  - mmap: { in: b, as: buf, size: 4KiB, prot: rw }',
          '  - touch: { in: a, region: buf, op: read }',
          '  - mmap: { in: a, as: bug, size: 4KiB, prot: rw }',
          '  - touch: { in: a, region: buf, op: read }',
        ),
      ),
    ).toEqual([
      "test.yaml:9:29: steps[3].touch.region: region 'buf' is not defined in process 'a' (expected a region named by an earlier mmap or brk 'as' in a: none yet)",
      "test.yaml:11:29: steps[5].touch.region: region 'buf' is not defined in process 'a'; did you mean 'bug'? (expected a region named by an earlier mmap or brk 'as' in a: bug)",
    ]);
  });

  it('requires a process spawned by an earlier step, and spawned once', () => {
    expect(
      errors(
        withSteps(
          '  - mmap: { in: app, size: 4KiB, prot: rw }',
          '  - spawn: app',
          '  - spawn: { name: app }',
          '  - expect: { in: ap, VmRSS: 0 }',
          '  - exit: nobody',
        ),
      ),
    ).toEqual([
      "test.yaml:6:17: steps[0].mmap.in: process 'app' has not been spawned (expected a process spawned by an earlier step: none yet)",
      "test.yaml:8:20: steps[2].spawn.name: process 'app' is already spawned by steps[1] (line 7)",
      "test.yaml:9:19: steps[3].expect.in: process 'ap' has not been spawned; did you mean 'app'? (expected a process spawned by an earlier step: app)",
      "test.yaml:10:11: steps[4].exit: process 'nobody' has not been spawned (expected a process spawned by an earlier step: app)",
    ]);
  });

  it('requires CPU indexes below machine.cpus', () => {
    expect(
      errors(
        withSteps(
          '  - spawn: { name: a, cpu: 2 }',
          '  - touch: { in: a, addr: 0, length: 1, op: read, cpu: 1 }',
        ),
      ),
    ).toEqual([
      'test.yaml:6:28: steps[0].spawn.cpu: cpu 2 does not exist: the machine has 2 CPUs (expected an integer from 0 to 1)',
    ]);
  });

  it('refuses both memory and nodes, and node sizes the buddy allocator cannot hold', () => {
    const head = (machine: string) => `vmlab: 1\nname: t\nmachine: ${machine}\ndesign: linux\nsteps: []\n`;
    expect(errors(head('{ cpus: 1, memory: 4GiB, nodes: [4GiB] }'))).toEqual([
      'test.yaml:3:42: machine.nodes: memory and nodes cannot both be given (expected one of memory or nodes)',
    ]);
    expect(errors(head('{ cpus: 1 }'))).toEqual([
      'test.yaml:3:10: machine.memory: one of memory or nodes is required (expected one of memory or nodes)',
    ]);
    expect(errors(head('{ cpus: 1, nodes: [6MiB, 2MiB] }'))).toEqual([
      'test.yaml:3:29: machine.nodes[0]: 6MiB is not a multiple of 4MiB (a node holds whole 4MiB order-10 buddy blocks) (expected a size such as 4096, 0x1000 or 4KiB, at least 4MiB, a multiple of 4MiB)',
      'test.yaml:3:35: machine.nodes[1]: 2MiB is below 4MiB (expected a size such as 4096, 0x1000 or 4KiB, at least 4MiB, a multiple of 4MiB)',
    ]);
    expect(errors(head('{ cpus: 1, memory: 4MiB, tlb: { entries: 96, ways: 4 } }'))).toEqual([
      'test.yaml:3:51: machine.tlb.entries: 96 / 4 ways = 24 sets, not a power of two (expected entries = ways x a power of two)',
    ]);
  });

  it('reads the hugetlb pools, the hugetlb mmap flag with huge_size, and hugetlbfs files', () => {
    const head = (hp: string) =>
      ['vmlab: 1', 'name: t', `machine: { cpus: 1, memory: 64MiB${hp} }`, 'design: linux', 'steps:'].join(
        '\n',
      );
    expect(parsed(`${head('')}\n  - spawn: a\n`).machine.hugepages).toBeUndefined();
    const s = parsed(
      [
        head(', hugepages: { 2MiB: 16, 1GiB: 1, overcommit: 2 }'),
        '  - spawn: a',
        '  - mmap: { in: a, as: h, size: 1GiB, prot: rw, flags: [private, anonymous, hugetlb], huge_size: 1GiB }',
        '  - mmap: { in: a, size: 2MiB, prot: rw, flags: [shared, anonymous, hugetlb] }',
        '  - create: { file: f, size: 4MiB, hugetlbfs: 2MiB }',
        '',
      ].join('\n'),
    );
    expect(s.machine.hugepages).toEqual({ pages2M: 16, pages1G: 1, overcommit: 2 });
    expect(s.steps[1]).toMatchObject({
      kind: 'mmap',
      flags: ['private', 'anonymous', 'hugetlb'],
      hugeSize: '1GiB',
    });
    expect(s.steps[2]).not.toHaveProperty('hugeSize');
    expect(s.steps[3]).toMatchObject({ kind: 'create', file: 'f', size: 4 * 1024 * 1024, hugetlbfs: '2MiB' });
    expect(parsed(`${head(', hugepages: { 1GiB: 2 }')}\n  - spawn: a\n`).machine.hugepages).toEqual({
      pages2M: 0,
      pages1G: 2,
      overcommit: 0,
    });
    expect(
      errors(
        [
          head(', hugepages: { 4MiB: 1 }'),
          '  - spawn: a',
          '  - mmap: { in: a, size: 2MiB, prot: rw, flags: [private, anonymous], huge_size: 2MiB }',
          '  - mmap: { in: a, size: 2MiB, prot: rw, flags: [private, anonymous, hugetlb], huge_size: 4MiB }',
          '  - create: { file: f, hugetlbfs: 2MiB, cached: true }',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      "test.yaml:3:49: machine.hugepages.4MiB: unknown key '4MiB'; did you mean '2MiB'? (expected one of 2MiB, 1GiB, overcommit)",
      "test.yaml:7:82: steps[1].mmap.huge_size: 'huge_size' needs 'hugetlb' in flags",
      "test.yaml:8:91: steps[2].mmap.huge_size: unknown value '4MiB'; did you mean '2MiB'? (expected one of 2MiB, 1GiB)",
      'test.yaml:9:49: steps[3].create.cached: a hugetlbfs file has no page cache to start with',
    ]);
  });

  it('checks the rules between fields of a step', () => {
    const errs = errors(
      withSteps(
        '  - spawn: a',
        '  - mmap: { in: a, size: 4KiB, prot: rw, flags: [shared] }',
        '  - mmap: { in: a, size: 4KiB, prot: rw, flags: [private, shared, anonymous] }',
        '  - mmap: { in: a, size: 4KiB, prot: rw, fixed: true }',
        '  - munmap: { in: a, addr: 0x1000 }',
        '  - munmap: { in: a }',
        '  - mremap: { in: a, addr: 0, length: 1, new_size: 2, flags: [maymove], new_addr: 0 }',
        '  - brk: { in: a, delta: 1, addr: 2 }',
        '  - touch: { in: a, addr: 0, length: 1, op: read, stride: 8KiB }',
        '  - expect: { VmRSS: 1 }',
        '  - expect: { in: a, pgfault: 1 }',
        '  - expect: { in: a, VmRSS: { min: 2, max: 1 }, VmHWM: {} }',
        '  - expect: { in: a }',
      ),
    );
    expect(errs).toEqual([
      "test.yaml:7:49: steps[1].mmap.flags: give 'file', or 'anonymous' in flags",
      "test.yaml:8:49: steps[2].mmap.flags: 'private' and 'shared' exclude each other",
      "test.yaml:9:49: steps[3].mmap.fixed: 'fixed: true' needs 'addr'",
      "test.yaml:10:28: steps[4].munmap.addr: 'addr' needs 'length'",
      'test.yaml:11:13: steps[5].munmap.region: one of region or addr is required (expected one of region or addr)',
      "test.yaml:12:83: steps[6].mremap.new_addr: 'new_addr' needs 'fixed' or 'dontunmap' in flags",
      'test.yaml:13:35: steps[7].brk.addr: delta and addr cannot both be given (expected one of delta or addr)',
      "test.yaml:14:59: steps[8].touch.stride: 'stride' needs 'pattern: strided'",
      `test.yaml:15:15: steps[9].expect.VmRSS: counter 'VmRSS' needs 'in' (expected one of ${byCloseness('VmRSS', SYSTEM_EXPECTABLE).join(', ')})`,
      "test.yaml:16:22: steps[10].expect.pgfault: counter 'pgfault' cannot be used with 'in' (expected one of min_flt, maj_flt, RssAnon, RssFile, map_count, sigbus, VmSize, VmRSS, VmHWM, VmPTE, VmLck, VmSwap, tlb_hits, page_walks, sigsegv, RssShmem, HugetlbPages, tlb_misses, walk_levels, AnonHugePages)",
      'test.yaml:17:44: steps[11].expect.VmRSS.max: max is below min',
      "test.yaml:17:56: steps[11].expect.VmHWM.min: give 'min', 'max' or both",
      'test.yaml:18:13: steps[12].expect: no counter given (expected at least 1 counter name)',
    ]);
  });

  it('suggests the closest counter names first', () => {
    const r = parseScenario(withSteps('  - spawn: a', '  - expect: { in: a, RssAnnon: 1 }'), FILE);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      file: FILE,
      line: 7,
      column: 22,
      field: 'steps[1].expect.RssAnnon',
      message: "unknown counter 'RssAnnon'; did you mean 'RssAnon'?",
    });
    expect(r.errors[0].expected?.split(', ').slice(0, 3)).toEqual(['one of RssAnon', 'RssFile', 'RssShmem']);
  });

  it('takes expect_error inside the step or beside it, but not both', () => {
    const both = withSteps(
      '  - spawn: a',
      '  - touch: { in: a, addr: 0, length: 1, op: read, expect_error: SIGBUS }',
      '    expect_error: SIGSEGV',
    );
    expect(errors(both)).toEqual([
      "test.yaml:8:19: steps[1].expect_error: expect_error is given twice: here and inside 'touch'",
    ]);
    expect(
      errors(withSteps('  - spawn: a', '  - expect: { in: a, VmRSS: 0 }', '    expect_error: EINVAL')),
    ).toEqual(["test.yaml:8:19: steps[1].expect_error: 'expect_error' cannot be used with 'expect'"]);
  });

  it('takes a list of designs, and limits a step to some of them with `design` beside its key', () => {
    const text = withSteps('  - spawn: a', '  - expect: { in: a, VmRSS: 0 }', '    design: hmm').replace(
      'design: linux',
      'design: [linux, hmm]',
    );
    const sc = parsed(text);
    expect(sc.design).toBe('linux');
    expect(sc.designs).toEqual(['linux', 'hmm']);
    expect(sc.steps[0].designs).toBeUndefined();
    expect(sc.steps[1].designs).toEqual(['hmm']);
    expect(errors(withSteps('  - spawn: a', '    design: [hmm]'))).toEqual([
      "test.yaml:7:13: steps[0].design: design hmm is not one of the scenario's designs (linux)",
    ]);
    expect(errors(withSteps('  - spawn: a')).length).toBe(0);
    expect(errors(withSteps('  - spawn: a').replace('design: linux', 'design: [linux, linux]'))).toEqual([
      'test.yaml:4:17: design[1]: linux is listed twice (expected a list, each one of linux, hmm, gmem)',
    ]);
    expect(errors(withSteps('  - spawn: a').replace('design: linux', 'design: []'))).toEqual([
      'test.yaml:4:9: design: the list is empty (expected a list, each one of linux, hmm, gmem)',
    ]);
  });

  it('reports two step keys in one item', () => {
    expect(errors(withSteps('  - spawn: a', '    exit: a'))).toEqual([
      "test.yaml:7:5: steps[0].exit: one step per list item, but 'spawn' and 'exit' share one (expected a mapping with one step key: spawn, exit, fork, exec, mmap, munmap, mprotect, mremap, madvise, mlock, munlock, brk, create, read, write, truncate, fsync, msync, sync, balloon, touch, khugepaged, drop_caches, expect, attach, detach, device, migrate, evict, hmadvise)",
    ]);
  });

  it('refuses other format versions', () => {
    expect(
      errors('vmlab: 2\nname: t\nmachine: { cpus: 1, memory: 4MiB }\ndesign: linux\nsteps: []\n'),
    ).toEqual(['test.yaml:1:8: vmlab: format version 2 is not supported (expected 1)']);
  });

  it('follows YAML anchors and aliases, and reports a bad one where it is used', () => {
    const s = parsed(
      withSteps(
        '  - spawn: a',
        '  - mmap: &m { in: a, as: r1, size: 4KiB, prot: rw }',
        '  - mmap: *m',
        '  - touch: { in: a, region: r1, op: read }',
      ),
    );
    expect(s.steps.map((st) => st.kind)).toEqual(['spawn', 'mmap', 'mmap', 'touch']);
    expect(s.steps[2].loc).toEqual(loc(8, 5));
    expect(errors(withSteps('  - spawn: &n a', '  - mmap: *n'))).toEqual([
      "test.yaml:7:11: steps[1].mmap: wrong type: the string 'a' (expected a mapping with keys in, as, size, prot, flags, addr, fixed, file, offset, huge_size, expect_error)",
    ]);
  });

  it('never throws, whatever the input', () => {
    const lines = EXAMPLE.split('\n');
    fc.assert(
      fc.property(
        fc.array(fc.nat(lines.length - 1), { maxLength: 8 }),
        fc.string({ maxLength: 12 }),
        fc.nat(lines.length - 1),
        (drop, insert, at) => {
          const mutated = lines.filter((_, i) => !drop.includes(i));
          mutated.splice(at, 0, insert);
          const r = parseScenario(mutated.join('\n'), FILE);
          if (!r.ok) {
            expect(r.errors.length).toBeGreaterThan(0);
            for (const e of r.errors) expect(e.line).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        parseScenario(text, FILE);
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatScenarioError', () => {
  it('prints file:line:column: field: message (expected ...)', () => {
    expect(
      formatScenarioError({
        file: 'a.yaml',
        line: 3,
        column: 7,
        field: 'steps[0].mmap.prot',
        message: 'bad',
        expected: 'one of r, w',
      }),
    ).toBe('a.yaml:3:7: steps[0].mmap.prot: bad (expected one of r, w)');
    expect(
      formatScenarioError({ file: 'a.yaml', line: 1, column: 1, field: '', message: 'YAML syntax error: x' }),
    ).toBe('a.yaml:1:1: YAML syntax error: x');
  });
});
