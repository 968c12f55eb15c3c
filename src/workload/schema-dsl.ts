// The schema DSL, in one import: define a format once, then both decode YAML node trees with exact
// positions (Schema.decode) and emit JSON Schema draft 2020-12 (jsonSchemaDocument).

import { JsonDefs, type JsonSchema, type Schema } from './schema-core.js';

export * from './schema-core.js';
export * from './schema-objects.js';
export * from './schema-scalars.js';

/** A complete JSON Schema document for `root`, with named sub-schemas under `$defs`. */
export function jsonSchemaDocument(
  root: Schema<unknown>,
  head: { title: string; description: string },
): JsonSchema {
  const defs = new JsonDefs();
  const body = root.json(defs);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: head.title,
    description: head.description,
    ...body,
    $defs: defs.toObject(),
  };
}
