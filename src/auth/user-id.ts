// What a user id is, read from the spec's UserId schema (the contract is the source of truth), for
// everything that must agree with the validator: token subjects, `npm run token`, the tests.
import { loadSpec } from '../spec.ts';

interface StringSchema {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

const schema = (loadSpec().document.components?.schemas?.UserId ?? {}) as StringSchema;
if (!schema.pattern || schema.maxLength === undefined) {
  throw new Error('The spec must define components.schemas.UserId with a pattern and a maxLength');
}
const minLength = schema.minLength ?? 0;
const { maxLength } = schema;
// Ajv (the validator) compiles patterns with the "u" flag; so must we, to agree on what matches.
const pattern = new RegExp(schema.pattern, 'u');

/** For messages: "1–255 characters matching ^[A-Za-z0-9_-]+$". */
export const USER_ID_RULE = `${minLength}–${maxLength} characters matching ${schema.pattern}`;

/** Whether a string is a user id the spec accepts in a path (lengths in code points, as JSON Schema counts). */
export function isUserId(value: string): boolean {
  const length = /[\uD800-\uDFFF]/.test(value) ? [...value].length : value.length;
  return length >= minLength && length <= maxLength && pattern.test(value);
}
