// schema/scenario.schema.json is generated from format.ts and committed, for editors and other tools.
// To regenerate it after changing the format: VMLAB_WRITE_SCHEMA=1 npx vitest run src/workload/json-schema.test.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from './json-schema.js';

const committed = new URL('../../schema/scenario.schema.json', import.meta.url);

describe('scenarioJsonSchema', () => {
  const text = `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;

  it('equals the committed schema/scenario.schema.json', () => {
    if (process.env.VMLAB_WRITE_SCHEMA === '1') writeFileSync(committed, text);
    expect(readFileSync(committed, 'utf8')).toBe(text);
  });

  it('is draft 2020-12 and closes every object it defines', () => {
    const schema = scenarioJsonSchema() as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['vmlab', 'name', 'machine', 'design', 'steps']);
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      if (o.type === 'object' && o.additionalProperties === undefined) open.push(path);
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(schema, '#');
    expect(open).toEqual([]);
  });

  it('defines each step kind once under $defs, referred to from the step union', () => {
    const schema = scenarioJsonSchema() as { $defs: Record<string, { oneOf?: { properties: object }[] }> };
    const kinds = schema.$defs.step.oneOf?.map((branch) => Object.keys(branch.properties)[0]);
    expect(kinds).toEqual([
      'spawn',
      'exit',
      'fork',
      'exec',
      'mmap',
      'munmap',
      'mprotect',
      'mremap',
      'madvise',
      'mlock',
      'munlock',
      'brk',
      'create',
      'read',
      'write',
      'truncate',
      'fsync',
      'msync',
      'sync',
      'balloon',
      'touch',
      'khugepaged',
      'drop_caches',
      'expect',
      'attach',
      'detach',
      'device',
      'migrate',
      'evict',
      'hmadvise',
    ]);
    for (const k of kinds ?? []) expect(schema.$defs[k]).toBeDefined();
  });
});
