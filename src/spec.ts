// The contract, read once per process: the parsed document drives routing, validation, the user-id
// rule and the tests' contract checks; the YAML text is served as written at /openapi.yaml.
import { readFileSync } from 'node:fs';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { parse } from 'yaml';

export const SPEC_PATH = new URL('../openapi/openapi.yaml', import.meta.url);

export type SpecDocument = OpenAPIV3.DocumentV3_1;

export interface ApiSpec {
  yaml: string;
  document: SpecDocument;
}

let loaded: ApiSpec | undefined;

/** The spec as shipped with this code. Callers that change the document must change a copy. */
export function loadSpec(): ApiSpec {
  if (!loaded) {
    const yaml = readFileSync(SPEC_PATH, 'utf8');
    loaded = { yaml, document: parse(yaml) as SpecDocument };
  }
  return loaded;
}
