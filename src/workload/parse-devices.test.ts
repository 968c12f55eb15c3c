import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICIES } from '../hetero/policy.js';
import { System } from '../sim/system.js';
import { formatScenarioError, parseScenario } from './parse.js';

const FILE = 'dev.yaml';

function errors(text: string): string[] {
  const r = parseScenario(text, FILE);
  return r.ok ? [] : r.errors.map(formatScenarioError);
}

const doc = (devices: string, design: string, steps: string) => `vmlab: 1
name: t
machine:
  cpus: 1
  memory: 64MiB
  devices:
${devices}
design: ${design}
steps:
  - spawn: app
${steps}`;

const GPU = '    - { name: gpu, memory: 16MiB }';

describe('scenario format: devices', () => {
  it('fills a device with the defaults', () => {
    const r = parseScenario(doc(GPU, 'hmm', '  - attach: { in: app, device: gpu }\n'), FILE);
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    expect(r.scenario.machine.devices).toEqual([
      {
        name: 'gpu',
        memory: 16 * 2 ** 20,
        pageSize: 0, // the design's default: 4 KiB under hmm, 2 MiB under gmem
        tlb: { entries: 2048, ways: 16 },
        replayableFaults: true,
        faultBatch: 256,
        peer: false,
        link: { bandwidth: 24 * 2 ** 30, latencyNs: 1000 },
        placement: 'remote',
        policies: { ...DEFAULT_POLICIES, eviction: { policy: 'none', defaulted: true } },
        memoryKind: 'private',
      },
    ]);
    expect(r.scenario.steps[1]).toMatchObject({ kind: 'attach', in: 'app', device: 'gpu' });
  });

  it('gives a device without page_size 4 KiB pages under hmm and 2 MiB under gmem', () => {
    for (const [design, bytes] of [
      ['hmm', 4096],
      ['gmem', 2 * 2 ** 20],
    ] as const) {
      const r = parseScenario(doc(GPU, design, '  - attach: { in: app, device: gpu }\n'), FILE);
      if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
      const sys = new System({ machine: r.scenario.machine, design, seed: 1, check: false });
      expect(sys.hetero!.devices[0].spec.pageSize).toBe(bytes);
    }
  });

  it('reads policies by name or as mappings with parameters', () => {
    const dev = `    - name: gpu
      memory: 16MiB
      placement: { policy: access_counters, threshold: 64, granularity: 64KiB }
      prefetch: tree
      eviction: lru
      thrashing: { policy: pin, pin: 40 }`;
    const r = parseScenario(doc(dev, 'hmm', ''), FILE);
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    const d = r.scenario.machine.devices![0];
    expect(d.placement).toBe('access_counters');
    expect(d.policies).toEqual({
      placement: { policy: 'access_counters', threshold: 64, granularity: 65536 },
      prefetch: { policy: 'tree', threshold: 51, size: 65536 },
      eviction: { policy: 'lru' },
      thrashing: { policy: 'pin', threshold: 3, lapse: 12, pin: 40 },
    });
  });

  it('rejects unknown policies and access-counter granularities the hardware lacks', () => {
    const bad = (key: string) =>
      parseScenario(doc(`    - { name: gpu, memory: 16MiB, ${key} }`, 'hmm', ''), FILE);
    const r1 = bad('eviction: fifo');
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.errors[0].message).toMatch(/unknown value 'fifo'/);
    const r2 = bad('placement: { policy: access_counters, granularity: 1MiB }');
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.errors[0].message).toMatch(/no access counter covers/);
    const r3 = bad('prefetch: { policy: tree, threshold: 101 }');
    expect(r3.ok).toBe(false);
  });

  it('takes memory_kind coherent and refuses other kinds', () => {
    const coherent = GPU.replace('memory: 16MiB', 'memory: 16MiB, memory_kind: coherent');
    const r = parseScenario(doc(coherent, 'hmm', '  - attach: { in: app, device: gpu }\n'), FILE);
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    expect(r.scenario.machine.devices?.[0].memoryKind).toBe('coherent');
    const bad = GPU.replace('memory: 16MiB', 'memory: 16MiB, memory_kind: shared');
    expect(parseScenario(doc(bad, 'hmm', '  - attach: { in: app, device: gpu }\n'), FILE).ok).toBe(false);
  });

  it('parses device kernels, migrations and evictions', () => {
    const r = parseScenario(
      doc(
        GPU,
        'hmm',
        `  - mmap: { in: app, as: buf, size: 1MiB, prot: rw }
  - device: { in: app, device: gpu, region: buf, op: atomic, pattern: strided, stride: 8KiB, count: 10 }
  - migrate: { in: app, device: gpu, region: buf, offset: 4KiB, length: 8KiB, to: system }
  - evict: gpu
`,
      ),
      FILE,
    );
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    expect(r.scenario.steps.slice(2)).toMatchObject([
      { kind: 'device', op: 'atomic', pattern: 'strided', stride: 8192, count: 10, range: { region: 'buf' } },
      { kind: 'migrate', to: 'system', range: { region: 'buf', offset: 4096, length: 8192 } },
      { kind: 'evict', device: 'gpu' },
    ]);
  });

  it('refuses devices under a design without device support, at the design', () => {
    expect(errors(doc(GPU, 'linux', ''))).toEqual([
      "dev.yaml:8:9: design: the linux design has no device support: use 'design: hmm' (Linux with HMM) or 'design: gmem'",
    ]);
  });

  it('refuses device-coherent memory under gmem, which has no such memory', () => {
    const coherent = GPU.replace('memory: 16MiB', 'memory: 16MiB, memory_kind: coherent');
    const e = errors(doc(coherent, '[hmm, gmem]', ''));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/memory_kind: memory_kind coherent is device memory under HMM/);
    expect(errors(doc(coherent, 'hmm', ''))).toEqual([]);
  });

  it('names an undeclared device, a duplicate and a page size the MMU does not have', () => {
    expect(errors(doc(GPU, 'hmm', '  - attach: { in: app, device: npu }\n'))).toEqual([
      "dev.yaml:11:32: steps[1].attach.device: no device 'npu' in machine.devices",
    ]);
    expect(errors(doc(`${GPU}\n${GPU}`, 'hmm', ''))).toEqual([
      "dev.yaml:8:15: machine.devices[1].name: device 'gpu' is declared twice",
    ]);
    expect(errors(doc('    - { name: gpu, memory: 16MiB, page_size: 8KiB }', 'hmm', ''))).toEqual([
      'dev.yaml:7:46: machine.devices[0].page_size: page size 8192 is not one a device MMU has (expected 4KiB, 64KiB or 2MiB)',
    ]);
  });
});
