// fast-check arbitraries derived from the contract's JSON Schemas when the tests run: nothing here
// restates a limit, a pattern or a field name. validValue(schema) generates what the schema accepts;
// invalidValue(schema) generates what it refuses (checked with the same Ajv the contract tests use,
// after a JSON round trip, so every "invalid" value really is invalid on the wire).
// Also the request-level breakage a client can send: malformed JSON, wrong media types and
// encodings, oversized bodies, path segments and query values that break their parameter's schema,
// and mutations of opaque tokens the service issued (cursors).
import fc from 'fast-check';
import { resolveRef, schemaValidator, specDocument } from '../support/contract.ts';

export type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Schema helpers

const JSON_TYPES = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'] as const;

/** The JSON types a schema allows (`type` as a string or an array; inferred when absent). */
export function typesOf(input: unknown): string[] {
  const schema = resolveRef<Schema>(input);
  const branches = alternativesOf(schema);
  if (branches) return [...new Set(branches.flatMap(typesOf))];
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if ('const' in schema) return [jsonType(schema.const)];
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map(jsonType))];
  if (schema.properties || schema.required) return ['object'];
  if (schema.items) return ['array'];
  return [...JSON_TYPES];
}

/** The branches of a oneOf/anyOf schema (each a schema of its own), if it is one. */
function alternativesOf(schema: Schema): unknown[] | undefined {
  const branches = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
  return Array.isArray(branches) && branches.length > 0 ? branches : undefined;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Ajv's validator for a schema (compiled once, $refs resolved against the spec). */
function validatorFor(input: unknown): (value: unknown) => boolean {
  const key = `fuzz:${JSON.stringify(input)}`;
  const validate = schemaValidator(input, key);
  return (value) => validate(value);
}

/** What the server sees after JSON.stringify → JSON.parse (undefined members vanish, -0 is 0, …). */
function wire(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

/** String length as JSON Schema counts it: code points (a lone surrogate is one). */
const codePoints = (s: string): number => [...s].length;

function patternOf(schema: Schema): RegExp | undefined {
  // Ajv compiles patterns with the "u" flag; so must we, to agree on what matches.
  return typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
}

function stringAccepts(schema: Schema): (s: string) => boolean {
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = (schema.maxLength as number | undefined) ?? Number.POSITIVE_INFINITY;
  const re = patternOf(schema);
  return (s) => {
    const n = codePoints(s);
    return n >= min && n <= max && (!re || re.test(s));
  };
}

/** Repeats s (by code points) to exactly n code points: how boundary lengths are reached. */
function repeatTo(s: string, n: number): string {
  const cps = [...s];
  if (cps.length === 0 || n <= 0) return '';
  const out: string[] = [];
  while (out.length < n) out.push(...cps);
  return out.slice(0, n).join('');
}

/** The fraction of a few samples that pass a predicate (decides whether a source is worth filtering). */
function acceptance<T>(arb: fc.Arbitrary<T>, accepts: (v: T) => boolean): number {
  const samples = fc.sample(arb, { numRuns: 60, seed: 1 });
  return samples.filter(accepts).length / samples.length;
}

// ---------------------------------------------------------------------------------------------
// Characters

/** Unicode a text field meets in the wild, and some it should never meet. */
const ODD_UNICODE: readonly string[] = [
  '\u0000', // NUL (PostgreSQL text cannot store it)
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\udbff\udbff', // two high surrogates
  '\u200e', // LEFT-TO-RIGHT MARK
  '\u200f', // RIGHT-TO-LEFT MARK
  '\u202e', // RIGHT-TO-LEFT OVERRIDE
  '\u2067', // RIGHT-TO-LEFT ISOLATE
  '\u200b', // ZERO WIDTH SPACE (not white space for \s)
  '\u200d', // ZERO WIDTH JOINER
  '\ufeff', // BOM / ZWNBSP (white space for \s and trim)
  '\u0301', // combining acute accent, alone
  'e\u0301', // e + combining acute
  'Z\u0351\u0364\u0359\u0324', // stacked combining marks
  '😀', // astral emoji (two UTF-16 units, one code point)
  '👩‍💻', // ZWJ sequence
  '🇺🇳', // flag (regional indicators)
  '\u{10ffff}', // last code point
  '\ufffd', // REPLACEMENT CHARACTER
  '\uffff', // noncharacter
  '\u2028', // LINE SEPARATOR
  '\u00a0', // NO-BREAK SPACE
  '\u3000', // IDEOGRAPHIC SPACE
  '\u0085', // NEXT LINE (not white space for \s)
  '\u001b', // ESC
  '\u007f', // DEL
  'İ', // changes length when lower-cased
  'ß', // changes length when upper-cased
  '﷽', // one code point, very wide
  '𝕏', // astral letter
  '\\', // backslash
  '"', // quote
  '%', // percent
  '/', // slash
];

const oddUnicode = fc.constantFrom(...ODD_UNICODE);
const whitespaceChar = fc.constantFrom(
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
);

/** One "character" of generated text: mostly printable ASCII, with white space, any code point, and odd Unicode. */
const textUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: whitespaceChar },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: oddUnicode },
);

export const text = (minLength = 0, maxLength = 30): fc.Arbitrary<string> =>
  fc.string({ unit: textUnit, minLength, maxLength });

// ---------------------------------------------------------------------------------------------
// Valid values

/** Values the schema accepts: every type it allows, boundary lengths and limits, odd Unicode. */
export function validValue(input: unknown): fc.Arbitrary<unknown> {
  const schema = resolveRef<Schema>(input);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = alternativesOf(schema);
  if (branches) {
    const accepts = validatorFor(schema);
    return fc.oneof(...branches.map(validValue)).filter((v) => accepts(wire(v)));
  }
  const types = typesOf(schema);
  const arbs = types.map((type) => validOfType(schema, type));
  const accepts = validatorFor(schema);
  const arb = arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
  // The generators above are built to be valid; the filter is the proof, and almost never rejects.
  return arb.filter((v) => accepts(wire(v)));
}

function validOfType(schema: Schema, type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number':
      return validNumber(schema, type === 'integer');
    case 'string':
      return validString(schema);
    case 'array':
      return fc.array(validValue(schema.items ?? {}), {
        minLength: (schema.minItems as number | undefined) ?? 0,
        maxLength: (schema.maxItems as number | undefined) ?? 5,
      });
    case 'object':
      return validObject(schema);
    default:
      throw new Error(`validValue: unsupported type ${type}`);
  }
}

function numberBounds(schema: Schema): { min: number; max: number } {
  const exMin = schema.exclusiveMinimum as number | undefined;
  const exMax = schema.exclusiveMaximum as number | undefined;
  return {
    min: (schema.minimum as number | undefined) ?? (exMin !== undefined ? exMin + 1 : -1_000_000),
    max: (schema.maximum as number | undefined) ?? (exMax !== undefined ? exMax - 1 : 1_000_000),
  };
}

function validNumber(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const { min, max } = numberBounds(schema);
  if (!integer) return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  return fc.oneof(
    fc.integer({ min, max }),
    // Small values near the minimum (where paging gets interesting), and the limits themselves.
    fc.integer({ min, max: Math.min(max, min + 10) }),
    fc.constantFrom(min, max),
  );
}

const validStrings = new Map<string, fc.Arbitrary<string>>();

function validString(schema: Schema): fc.Arbitrary<string> {
  const key = JSON.stringify(schema);
  const cached = validStrings.get(key);
  if (cached) return cached;
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = schema.maxLength as number | undefined;
  const accepts = stringAccepts(schema);
  const re = patternOf(schema);
  const sources: fc.Arbitrary<string>[] = [];
  switch (schema.format) {
    case 'uuid':
      sources.push(fc.mixedCase(fc.uuid()));
      break;
    case 'date-time':
      sources.push(
        fc
          .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true })
          .map((d) => d.toISOString()),
      );
      break;
    case 'uri-reference':
      sources.push(fc.webPath(), fc.constant('about:blank'));
      break;
    default:
      break;
  }
  if (re) sources.push(fc.stringMatching(re, max === undefined ? {} : { maxLength: max }));
  // Free text (with odd Unicode) when the pattern lets enough of it through to be worth filtering.
  const free = text(min, Math.min(max ?? min + 40, min + 40));
  if (sources.length === 0 || acceptance(free, accepts) >= 0.2) sources.push(free);
  const base = fc.oneof(...sources).filter(accepts);
  // Boundary lengths: a valid string repeated to exactly minLength or maxLength code points.
  const edges = [...new Set([min, ...(max === undefined ? [] : [max])])].filter((n) => n > 0);
  const arb =
    edges.length > 0 && (schema.minLength !== undefined || max !== undefined)
      ? fc.oneof(
          { weight: 4, arbitrary: base },
          {
            weight: 1,
            arbitrary: fc
              .tuple(base, fc.constantFrom(...edges))
              .map(([s, n]) => repeatTo(s, n))
              .filter(accepts),
          },
        )
      : base;
  validStrings.set(key, arb);
  return arb;
}

function validObject(schema: Schema): fc.Arbitrary<Json> {
  const properties = (schema.properties as Record<string, unknown> | undefined) ?? {};
  const required = (schema.required as string[] | undefined) ?? [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, propSchema] of Object.entries(properties)) {
    const resolved = resolveRef<Schema>(propSchema);
    // A default may be sent explicitly, as well as left out (fc.record leaves optional keys out).
    model[name] =
      'default' in resolved ? fc.oneof(fc.constant(resolved.default), validValue(resolved)) : validValue(resolved);
  }
  return fc.record(model, { requiredKeys: required.filter((k) => k in model) });
}

// ---------------------------------------------------------------------------------------------
// Invalid values

/** Any JSON value at all, a few levels deep (for wrong types and unknown members). */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Sets an own property, even one named __proto__ (JSON.parse would create it the same way). */
function withMember(obj: Json, key: string, value: unknown): Json {
  const copy: Json = { ...obj };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

function withoutMember(obj: Json, key: string): Json {
  const copy: Json = { ...obj };
  delete copy[key];
  return copy;
}

/** Values the schema refuses: wrong types, null, bad lengths and ranges, missing and unknown members, odd Unicode, huge strings. */
export function invalidValue(input: unknown): fc.Arbitrary<unknown> {
  const schema = resolveRef<Schema>(input);
  const accepts = validatorFor(schema);
  const types = typesOf(schema);
  const strategies: fc.Arbitrary<unknown>[] = [anyJson];
  // What breaks one branch of a oneOf/anyOf may still pass another; the filter below keeps only
  // values every branch refuses.
  const branches = alternativesOf(schema);
  if (branches) {
    strategies.push(...branches.map(invalidValue));
  } else {
    if ('const' in schema || Array.isArray(schema.enum)) strategies.push(text(), fc.integer());
    if (types.includes('string')) strategies.push(...stringBreakers(schema));
    if (types.includes('integer') || types.includes('number'))
      strategies.push(...numberBreakers(schema, !types.includes('number')));
    if (types.includes('object')) strategies.push(...objectBreakers(schema));
    if (types.includes('array'))
      strategies.push(fc.array(invalidValue(schema.items ?? {}), { minLength: 1, maxLength: 3 }));
  }
  return fc.oneof(...strategies).filter((v) => v !== undefined && !accepts(wire(v)));
}

function stringBreakers(schema: Schema): fc.Arbitrary<unknown>[] {
  const min = (schema.minLength as number | undefined) ?? 0;
  const max = schema.maxLength as number | undefined;
  const valid = validString(schema);
  const out: fc.Arbitrary<unknown>[] = [];
  if (min > 0) out.push(text(0, min - 1), fc.constant(''));
  if (max !== undefined) {
    // Just over the limit, by a few code points (of any width).
    out.push(
      fc.tuple(valid, textUnit, fc.integer({ min: 1, max: 5 })).map(([s, pad, k]) => repeatTo(s || pad, max + k)),
    );
  }
  // Huge: sometimes under the body limit, sometimes over it (multi-byte characters count more).
  out.push(
    fc
      .tuple(fc.constantFrom('x', ' ', 'é', '😀', '\ud800', '\u0000'), fc.integer({ min: 1_000, max: 24_000 }))
      .map(([c, n]) => c.repeat(n)),
  );
  // Only white space, and valid strings with one odd character inserted.
  out.push(fc.string({ unit: whitespaceChar, minLength: 1, maxLength: Math.max(1, Math.min(max ?? 10, 10)) }));
  out.push(
    fc.tuple(valid, fc.nat(), fc.oneof(oddUnicode, textUnit)).map(([s, at, c]) => {
      const cps = [...s];
      const i = cps.length === 0 ? 0 : at % (cps.length + 1);
      return [...cps.slice(0, i), c, ...cps.slice(i)].join('');
    }),
  );
  if (schema.format === 'uuid' || patternOf(schema)) {
    // Near misses of a valid value: one code point dropped, replaced or duplicated.
    out.push(
      fc
        .tuple(valid, fc.nat(), fc.constantFrom('drop', 'replace', 'double'), fc.oneof(oddUnicode, textUnit))
        .map(([s, at, how, c]) => {
          const cps = [...s];
          if (cps.length === 0) return c;
          const i = at % cps.length;
          if (how === 'drop') cps.splice(i, 1);
          else if (how === 'replace') cps[i] = c;
          else cps.splice(i, 0, cps[i]!);
          return cps.join('');
        }),
    );
  }
  return out;
}

function numberBreakers(schema: Schema, integer: boolean): fc.Arbitrary<unknown>[] {
  const { min, max } = numberBounds(schema);
  const out: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(min - 1, max + 1, min - 1_000_000, max + 1_000_000, 2 ** 53, -(2 ** 53), 1e308, -1e308),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }),
    fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }),
    // Numbers as strings and booleans: JSON bodies must not be coerced.
    fc.integer({ min, max }).map(String),
    fc.constantFrom('true', 'false', '', 'NaN', 'Infinity'),
  ];
  if (integer)
    out.push(
      fc.integer({ min, max }).map((n) => n + 0.5),
      fc.double({ min, max, noNaN: true }).filter((n) => !Number.isInteger(n)),
    );
  return out;
}

function objectBreakers(schema: Schema): fc.Arbitrary<unknown>[] {
  const properties = (schema.properties as Record<string, unknown> | undefined) ?? {};
  const required = (schema.required as string[] | undefined) ?? [];
  const names = Object.keys(properties);
  const valid = validObject(schema);
  type Edit = { drop: string } | { extra: string; value: unknown } | { set: string; value: unknown };
  const edits: fc.Arbitrary<Edit>[] = [];
  if (required.length > 0) edits.push(fc.constantFrom(...required).map((drop) => ({ drop })));
  if (schema.additionalProperties === false) {
    // Unknown members, including near misses of real names and prototype keys.
    const unknownName = fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'toString',
          'id',
          'user_id',
          'created_at',
          'updated_at',
        ),
        ...(names.length > 0
          ? [
              fc.constantFrom(...names).map((n) => n.toUpperCase()),
              fc.constantFrom(...names).map((n) => ` ${n}`),
              fc.constantFrom(...names).map((n) => `${n}\u0000`),
            ]
          : []),
      )
      .filter((n) => !names.includes(n));
    edits.push(fc.record({ extra: unknownName, value: anyJson }));
  }
  for (const name of names) edits.push(invalidValue(properties[name]).map((value) => ({ set: name, value })));
  if (edits.length === 0) return [];
  const apply = (obj: Json, edit: Edit): Json =>
    'drop' in edit
      ? withoutMember(obj, edit.drop)
      : 'extra' in edit
        ? withMember(obj, edit.extra, edit.value)
        : withMember(obj, edit.set, edit.value);
  // One to three edits at once: every failure should be reported, none should slip through.
  return [
    fc
      .tuple(valid, fc.array(fc.oneof(...edits), { minLength: 1, maxLength: 3 }))
      .map(([obj, list]) => list.reduce(apply, obj)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Request-level breakage

/** The service's body limit, read from the spec's documented 413 answer ("… larger than N bytes."). */
export function bodyLimitBytes(): number {
  const responses = (specDocument.components as Json).responses as Record<string, Json>;
  for (const response of Object.values(responses)) {
    for (const media of Object.values((response.content as Record<string, Json> | undefined) ?? {})) {
      const example = media.example as Json | undefined;
      if (example?.status === 413 && typeof example.detail === 'string') {
        const match = /(\d+) bytes/.exec(example.detail);
        if (match) return Number(match[1]);
      }
    }
  }
  throw new Error('The spec documents no 413 example naming the body limit');
}

/** True when the text is not JSON (an empty body counts as absent, not malformed; a BOM is tolerated). */
function isMalformedJson(text: string): boolean {
  if (text.length === 0) return false;
  try {
    JSON.parse(text.replace(/^\ufeff/, ''));
    return false;
  } catch {
    return true;
  }
}

/** JSON text that does not parse: a valid body cut short or corrupted, or classic non-JSON. */
export function malformedJson(validBody: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const valid = validBody.map((b) => JSON.stringify(b));
  return fc
    .oneof(
      fc.tuple(valid, fc.nat()).map(([t, at]) => t.slice(0, at % Math.max(1, t.length))),
      fc
        .tuple(valid, fc.nat(), fc.constantFrom(',', '{', '}', '"', ':', '\\', '\u0000', "'", 'NaN', '//', ' x'))
        .map(([t, at, c]) => {
          const i = at % (t.length + 1);
          return t.slice(0, i) + c + t.slice(i);
        }),
      valid.map((t) => t.replace(/"/g, "'")),
      valid.map((t) => (t.endsWith('}') ? `${t.slice(0, -1)},}` : `${t},`)),
      fc.constantFrom(
        '{',
        '[',
        'tru',
        'undefined',
        'NaN',
        '{"a":}',
        '{a:1}',
        '/* */{}',
        '\u0000',
        ' ',
        '}{',
        '{"a":"\\x41"}',
        '{"a":"\\ud800',
      ),
    )
    .filter(isMalformedJson);
}

/** Content types other than JSON (the empty string means "no Content-Type header at all"). */
export const wrongContentType = fc.constantFrom(
  'text/plain',
  'text/plain; charset=utf-8',
  'application/xml',
  'text/xml',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/octet-stream',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/jsonx',
  'json',
  '*/*',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  '',
);

/** Content-Encoding values, sent with a body that is not encoded that way. */
export const wrongContentEncoding = fc.constantFrom(
  'gzip',
  'deflate',
  'br',
  'x-gzip',
  'compress',
  'zstd',
  'bogus',
  'gzip, gzip',
);

/** A valid JSON body padded with white space past the body limit: still valid JSON, just too big. */
export function oversizedJson(validBody: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const limit = bodyLimitBytes();
  return fc.tuple(validBody, fc.integer({ min: 1, max: limit })).map(([body, extra]) => {
    const json = JSON.stringify(body);
    const pad = limit + extra - Buffer.byteLength(json);
    return json + ' '.repeat(Math.max(1, pad));
  });
}

// ---------------------------------------------------------------------------------------------
// Parameters (always strings on the wire)

/**
 * The longest encoded path segment or query value generated. Node's HTTP parser answers 431 to a
 * request head over 16 kB before the service sees it; that is the transport's limit, not the API's.
 */
const MAX_URL_PART = 4096;

/** UTF-8 percent-encoding of everything but unreserved characters; a lone surrogate becomes its (invalid) 3 bytes. */
export function percentEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_.~-]$/.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    const bytes =
      cp < 0x80
        ? [cp]
        : cp < 0x800
          ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
          : cp < 0x10000
            ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
            : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** An array parameter (form style, exploded) is written as the parameter repeated, once per item. */
export function queryPairs(name: string, value: string | string[]): [string, string][] {
  return Array.isArray(value) ? value.map((item): [string, string] => [name, item]) : [[name, value]];
}

/** How a parameter value is written in a URL: a primitive as text, an array as its items' texts. */
export function serializeQueryValue(value: unknown): string | string[] {
  return Array.isArray(value) ? value.map(serializeParam) : serializeParam(value);
}

/** How a primitive parameter value is written in a URL. */
export function serializeParam(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

/**
 * Whether a raw parameter string is valid for its schema, coerced the way Ajv coerces parameters
 * ("5" → 5 for integers, "true" → true for booleans).
 */
function paramAccepts(input: unknown, raw: string): boolean {
  const schema = resolveRef<Schema>(input);
  const types = typesOf(schema);
  const accepts = validatorFor(schema);
  if (raw === '') return false; // empty parameter values are refused
  // Same test as Ajv's coercion: a non-empty string that loosely equals its numeric value.
  if ((types.includes('integer') || types.includes('number')) && (raw as unknown) == Number(raw))
    return accepts(Number(raw));
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return accepts(raw === 'true');
  // An array parameter (form, exploded) sent once is a list of one.
  if (types.includes('array')) return accepts([raw]);
  return accepts(raw);
}

/** A path segment that does not decode to a valid value: bad characters, too long, broken %-escapes. */
export function invalidPathSegment(input: unknown): fc.Arbitrary<string> {
  const schema = resolveRef<Schema>(input);
  const valid = validValue(schema).map(serializeParam);
  const encoded = fc.oneof(invalidValue(schema).map(serializeParam), text(1, 20)).map(percentEncode);
  const brokenEscape = fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom(
        '%',
        '%Z',
        '%ZZ',
        '%G0',
        '%FF',
        '%C0%AF',
        '%ED%A0%80',
        '%E2%82',
        '%00',
        '%2F',
        '%5C',
        '%25',
        '%3F',
        '%23',
        '%20',
        '%E2%80%AE',
      ),
    )
    .map(([s, at, bad]) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + bad + s.slice(i);
    });
  return fc.oneof(encoded, brokenEscape).filter((segment) => {
    // Empty and dot segments would change which path the URL names; they are not parameter values.
    if (segment === '' || /^(\.|%2e){1,2}$/i.test(segment)) return false;
    if (segment.length > MAX_URL_PART) return false;
    const decoded = safeDecode(segment);
    return decoded === undefined || !paramAccepts(schema, decoded);
  });
}

/** A raw query value the parameter's schema refuses (before percent-encoding). */
export function invalidQueryValue(input: unknown): fc.Arbitrary<string> {
  const schema = resolveRef<Schema>(input);
  return fc
    .oneof(invalidValue(schema).map(serializeParam), fc.constant(''), text(1, 12))
    .filter((raw) => percentEncode(raw).length <= MAX_URL_PART && !paramAccepts(schema, raw));
}

/** What an HTTP header value can carry as sent: Latin-1 bytes, no control characters, no surrounding white space (dropped in transit). */
const headerSafe = (value: string) =>
  value.length > 0 && value === value.trim() && /^[\x20-\x7E\x80-\xFF]*$/.test(value);

/**
 * A header value the parameter's schema refuses (If-Match that is no list of entity tags, an
 * Idempotency-Key too long or not printable ASCII), among values HTTP can carry.
 */
export function invalidHeaderValue(input: unknown): fc.Arbitrary<string> {
  const schema = resolveRef<Schema>(input);
  const accepts = validatorFor(schema);
  const latin1 = fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code));
  const valid = validValue(schema).filter((v): v is string => typeof v === 'string');
  return fc
    .oneof(
      fc.string({ unit: latin1, minLength: 1, maxLength: 40 }),
      // Just past a length limit, and a valid value with one character changed or added.
      valid.map((v) => v.padEnd(((schema.maxLength as number | undefined) ?? 1000) + 1, v || 'x')),
      fc
        .tuple(valid, fc.nat(), latin1)
        .map(([v, at, c]) => v.slice(0, at % (v.length + 1)) + c + v.slice(at % (v.length + 1))),
    )
    .filter((value) => headerSafe(value) && !accepts(value));
}

// ---------------------------------------------------------------------------------------------
// Opaque tokens (cursors) the service issued, mutated the way a fuzzer mutates bytes

type TokenMutation =
  | { kind: 'typed'; at: number; pick: number }
  | { kind: 'digits'; run: number; fill: '0' | '9' | 'random'; seed: number; grow: boolean }
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; suffix: string };

/**
 * Values of well-known formats that break code written for typical ones (a fuzzer's "interesting
 * values"): the ends of the ECMAScript and SQL date ranges, year 0, the nil and max UUIDs, integer
 * limits. A token field recognised as one of these formats is replaced by one of its values.
 */
const INTERESTING: readonly { format: RegExp; values: readonly string[] }[] = [
  {
    format: /[+-]?\d{4,6}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g,
    values: [
      '0000-01-01T00:00:00.000Z',
      '0001-01-01T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '+275760-09-13T00:00:00.000Z',
      '-271821-04-20T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
    ],
  },
  {
    format: /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g,
    values: [
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    ],
  },
  { format: /-?\d+/g, values: ['0', '-1', '2147483648', '9007199254740993', '-9223372036854775809', '1e400'] },
];

export const tokenMutation: fc.Arbitrary<TokenMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('typed' as const), at: fc.nat(), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('digits' as const),
      run: fc.nat({ max: 40 }),
      fill: fc.constantFrom('0' as const, '9' as const, 'random' as const),
      seed: fc.nat(),
      grow: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: fc.oneof(textUnit, oddUnicode) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      suffix: fc.oneof(textUnit, fc.constantFrom('|', '|x', '=', '==')),
    }),
  },
);

function mutateText(value: string, m: TokenMutation): string {
  switch (m.kind) {
    case 'typed': {
      // Every recognised field, most specific format first (a date's digits are not also integers).
      const fields: { index: number; length: number; values: readonly string[] }[] = [];
      const taken = (i: number, n: number) => fields.some((f) => i < f.index + f.length && f.index < i + n);
      for (const { format, values } of INTERESTING) {
        for (const match of value.matchAll(format)) {
          if (!taken(match.index, match[0].length))
            fields.push({ index: match.index, length: match[0].length, values });
        }
      }
      if (fields.length === 0) return value;
      fields.sort((a, b) => a.index - b.index);
      const field = fields[m.at % fields.length]!;
      return (
        value.slice(0, field.index) +
        field.values[m.pick % field.values.length]! +
        value.slice(field.index + field.length)
      );
    }
    case 'digits': {
      const runs = [...value.matchAll(/\d+/g)];
      if (runs.length === 0) return value;
      const run = runs[m.run % runs.length]!;
      const length = run[0].length + (m.grow ? 1 : 0);
      let x = m.seed;
      const digit = () => (m.fill === 'random' ? String((x = (x * 1103515245 + 12345) >>> 0) % 10) : m.fill);
      const replacement = Array.from({ length }, digit).join('');
      return value.slice(0, run.index) + replacement + value.slice(run.index + run[0].length);
    }
    case 'replace': {
      const cps = [...value];
      if (cps.length === 0) return m.char;
      cps[m.at % cps.length] = m.char;
      return cps.join('');
    }
    case 'truncate':
      return value.slice(0, m.at % Math.max(1, value.length));
    case 'append':
      return value + m.suffix;
  }
}

/**
 * Mutates an opaque token. When it is base64url of printable text (as most cursors are), the
 * text inside is mutated and re-encoded, so the service's decoder sees a plausible token.
 */
export function mutateToken(token: string, m: TokenMutation): string {
  const decoded = decodedToken(token);
  return decoded === undefined
    ? mutateText(token, m)
    : Buffer.from(mutateText(decoded, m), 'utf8').toString('base64url');
}

/** The printable text inside a base64url token, if that is what it is. */
export function decodedToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{8,}$/.test(token) || /^\d+$/.test(token)) return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  return /^[\x20-\x7e]+$/.test(decoded) ? decoded : undefined;
}
