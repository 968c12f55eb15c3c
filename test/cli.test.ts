// The CLI as a user runs it: exit statuses, messages naming file, line and field, reports.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

function cli(...argv: string[]): { status: number; out: string; err: string } {
  let out = '';
  let err = '';
  const status = runCli(argv, {
    stdout: {
      write: (s: string) => {
        out += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        err += s;
        return true;
      },
    },
  });
  return { status, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'vmlab-cli-'));
function scenario(name: string, body: string): string {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
}

const HEAD = `vmlab: 1
name: t
machine: { cpus: 2, memory: 64MiB }
design: linux
steps:
  - spawn: app
`;

describe('vmlab run', () => {
  it('runs the quick start and prints the kernel counters', () => {
    const r = cli('run', 'examples/quickstart.yaml');
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^min_flt\s+262,144$/m);
    expect(r.out).toMatch(/^VmPTE\s+2,056 kB$/m);
    expect(r.out).toMatch(/ok: 7 steps/);
  });

  it('prints JSON with sizes in bytes', () => {
    const r = cli('run', 'examples/quickstart.yaml', '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.processes[0].counters.VmPTE).toBe(2056 * 1024);
    expect(j.processes[0].counters.RssAnon).toBe(2 ** 30);
    expect(j.system.pgfault).toBe(262144);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const f = scenario(
      'random.yaml',
      `${HEAD}  - mmap: { in: app, as: b, size: 16MiB, prot: rw }
  - touch: { in: app, region: b, op: read, pattern: random, count: 3000 }
`,
    );
    const a = cli('run', f, '--json', '--seed', '7').out;
    expect(cli('run', f, '--json', '--seed', '7').out).toBe(a);
    const b = cli('run', f, '--json', '--seed', '8').out;
    expect(JSON.parse(b).processes[0].counters.min_flt).not.toBe(JSON.parse(a).processes[0].counters.min_flt);
  });

  it('exits 1 and names step, counter, expected and actual when an expectation fails', () => {
    const f = scenario(
      'expect.yaml',
      `${HEAD}  - mmap: { in: app, as: b, size: 64KiB, prot: rw }
  - touch: { in: app, region: b, op: write }
  - expect: { in: app, min_flt: 15, RssAnon: 64KiB }
`,
    );
    const r = cli('run', f);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`${f}:9:24: step 4 (expect): process app min_flt: expected 15, actual 16`);
    expect(r.out).not.toContain('RssAnon: expected');
  });

  it('stops at an undeclared error and exits 1', () => {
    const f = scenario(
      'errno.yaml',
      `${HEAD}  - munmap: { in: app, addr: 0x1001, length: 4KiB }
  - mmap: { in: app, size: 4KiB, prot: rw }
`,
    );
    const r = cli('run', f);
    expect(r.status).toBe(1);
    expect(r.out).toContain('step 2 (munmap): failed with EINVAL');
    expect(r.out).toContain('in 2 steps run');
  });

  it('fails a step that declared an error it did not get', () => {
    const f = scenario(
      'declared.yaml',
      `${HEAD}  - mmap: { in: app, size: 4KiB, prot: rw, expect_error: ENOMEM }\n`,
    );
    const r = cli('run', f);
    expect(r.status).toBe(1);
    expect(r.out).toContain('expected ENOMEM, but the step succeeded');
  });

  it('kills a process on an undeclared SIGSEGV, goes on, and exits 1', () => {
    const f = scenario(
      'segv.yaml',
      `${HEAD}  - spawn: other
  - mmap: { in: app, as: b, size: 8KiB, prot: r }
  - touch: { in: app, region: b, op: write }
  - mmap: { in: other, size: 8KiB, prot: r }
  - expect: { processes: 1 }
`,
    );
    const r = cli('run', f);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/process app killed by SIGSEGV \(at 0x[0-9a-f]+ after 0 accesses\)/);
    expect(r.out).toContain('app (pid 1, killed by SIGSEGV)');
    expect(r.out).toContain('in 6 steps run');
  });

  it('exits 2 with file:line:column and the field for a bad scenario', () => {
    const f = scenario('bad.yaml', `${HEAD}  - mmap: { in: app, size: 12 parsecs, prot: rw }\n`);
    const r = cli('run', f);
    expect(r.status).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^${f.replace(/[.]/g, '\\.')}:7:28: steps\\[1\\]\\.mmap\\.size: `));
  });

  it('exits 2 for a missing file and for a bad command line', () => {
    expect(cli('run', join(dir, 'nope.yaml'))).toMatchObject({
      status: 2,
      err: expect.stringContaining('cannot read: ENOENT'),
    });
    expect(cli('run')).toMatchObject({
      status: 2,
      err: expect.stringContaining('run needs a scenario FILE'),
    });
    expect(cli('frobnicate')).toMatchObject({
      status: 2,
      err: expect.stringContaining('unknown command frobnicate'),
    });
    expect(cli('run', 'examples/quickstart.yaml', '--seed', 'x')).toMatchObject({ status: 2 });
  });
});

describe('vmlab check, schema, designs', () => {
  it('validates without running', () => {
    const r = cli('check', 'examples/quickstart.yaml');
    expect(r).toMatchObject({ status: 0, out: 'examples/quickstart.yaml: ok (7 steps, design linux)\n' });
  });

  it('prints the JSON Schema', () => {
    const r = cli('schema');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out).$schema).toMatch(/json-schema\.org/);
  });

  it('lists the designs', () => {
    expect(cli('designs').out).toMatch(/^linux\s+Linux 6\.x/);
  });
});

describe('vmlab compare', () => {
  it('prints the counters of each design side by side, as a table, JSON or CSV', () => {
    const t = cli('compare', 'examples/quickstart.yaml', '--designs', 'linux,hmm');
    expect(t.status).toBe(0);
    expect(t.out).toMatch(/^counter\s+linux\s+hmm$/m);
    expect(t.out).toMatch(/^pgfault\s+262,144\s+262,144$/m);
    expect(t.out).toMatch(/^expect failures\s+0\s+0$/m);
    const j = JSON.parse(
      cli('compare', 'examples/quickstart.yaml', '--designs', 'linux,hmm', '--format', 'json').out,
    );
    expect(j.designs).toEqual(['linux', 'hmm']);
    expect(j.counters.find((c: { name: string }) => c.name === 'pgfault').values).toEqual([262144, 262144]);
    const csv = cli('compare', 'examples/quickstart.yaml', '--designs', 'hmm', '--format', 'csv').out.split(
      '\n',
    );
    expect(csv[0]).toBe('counter,unit,hmm');
    expect(csv).toContain('pgfault,count,262144');
  });

  it('names device counters by device, and refuses a design without devices for a scenario with some', () => {
    const r = cli('compare', 'test/scenarios/hmm-migrate.yaml', '--designs', 'hmm');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^gpu\.dev_migrate_to_device\s+1,024$/m);
    const bad = cli('compare', 'test/scenarios/hmm-migrate.yaml', '--designs', 'linux,hmm');
    expect(bad.status).toBe(2);
    expect(bad.err).toMatch(/design linux cannot run this scenario/);
    expect(cli('compare', 'examples/quickstart.yaml', '--designs', 'nope').status).toBe(2);
    // The parser refuses coherent device memory for a file listing gmem; a design named on the
    // command line gets the same refusal (bad input), not a failed step.
    const coherent = cli('compare', 'test/scenarios/hmm-coherent-migrate.yaml', '--designs', 'hmm,gmem');
    expect(coherent.status).toBe(2);
    expect(coherent.err).toMatch(/design gmem cannot run this scenario: it has device-coherent memory/);
  });

  it("runs the scenario's own designs when --designs is not given; run --design picks one", () => {
    const c = cli('compare', 'test/scenarios/designs-list.yaml');
    expect(c.status).toBe(0);
    expect(c.out).toMatch(/^counter\s+linux\s+hmm$/m);
    expect(c.out).toMatch(/^pgfault\s+1\s+2$/m);
    expect(c.out).toMatch(/^expect failures\s+0\s+0$/m);
    const r = cli('run', 'test/scenarios/designs-list.yaml', '--design', 'hmm', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out).scenario.design).toBe('hmm');
    expect(cli('run', 'test/scenarios/designs-list.yaml', '--design', 'nope').status).toBe(2);
    const bad = cli('run', 'test/scenarios/hmm-migrate.yaml', '--design', 'linux');
    expect(bad.status).toBe(2);
    expect(bad.err).toMatch(/design linux cannot run this scenario/);
    expect(cli('check', 'test/scenarios/designs-list.yaml').out).toMatch(/designs linux, hmm/);
  });
});
