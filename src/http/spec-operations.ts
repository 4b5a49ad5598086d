// The one walk over the spec's operations: what routing, body parsing, the tests' contract checks
// and the metrics' operation labels all enumerate and match requests against.
import type { SpecDocument } from '../spec.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type HttpMethod = (typeof HTTP_METHODS)[number];

type PathItem = NonNullable<NonNullable<SpecDocument['paths']>[string]>;
type SpecOperationObject = NonNullable<PathItem['get']>;

interface SpecOperation {
  /** Lower case, as Express's app[method] and the spec's path items spell it. */
  method: HttpMethod;
  /** The spec's path template, e.g. /api/{user_id}/tasks/{task_id}. */
  path: string;
  /** Matches a request path (already decoded by nobody: one segment per parameter). */
  pattern: RegExp;
  operationId: string;
  operation: SpecOperationObject;
  pathItem: PathItem;
}

/** `/api/{user_id}/tasks` → a RegExp matching `/api/alice/tasks`: each parameter is one path segment. */
function pathPattern(template: string): RegExp {
  const literal = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${template
      .split(/\{[^}]+\}/)
      .map(literal)
      .join('[^/]+')}$`,
  );
}

/** `/api/{user_id}/tasks` → `/api/:user_id/tasks`, Express's spelling of the same route. */
export function expressPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

/** Every operation in the spec, in document order. */
export function specOperations(document: SpecDocument): SpecOperation[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, pathItem]) => {
    if (!pathItem) return [];
    const pattern = pathPattern(path);
    return HTTP_METHODS.flatMap((method) => {
      const operation = pathItem[method];
      if (!operation) return [];
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId in the spec`);
      return [{ method, path, pattern, operationId: operation.operationId, operation, pathItem }];
    });
  });
}

/** How many parameters a path template has: the fewer, the more specific. Counted once per pattern. */
const parameterCounts = new WeakMap<RegExp, number>();
function templateParameters(pattern: RegExp): number {
  let count = parameterCounts.get(pattern);
  if (count === undefined) {
    count = pattern.source.split('[^/]+').length - 1;
    parameterCounts.set(pattern, count);
  }
  return count;
}

/**
 * The operation a request is for, if any; `method` may be spelled in either case, on either side.
 * As OpenAPI matches paths: a concrete path wins over a template that also matches
 * (`/tasks/summary` over `/tasks/{task_id}`), and then the method decides.
 */
export function findOperation<T extends { method: string; pattern: RegExp }>(
  operations: readonly T[],
  method: string,
  pathname: string,
): T | undefined {
  const matching = operations.filter((op) => op.pattern.test(pathname));
  if (matching.length === 0) return undefined;
  const fewest = Math.min(...matching.map((op) => templateParameters(op.pattern)));
  const lower = method.toLowerCase();
  const upper = method.toUpperCase();
  return matching.find(
    (op) => templateParameters(op.pattern) === fewest && (op.method === lower || op.method === upper),
  );
}

type SecurityRequirements = readonly Record<string, unknown>[] | undefined;

/** A token is needed unless the operation (else the document) lists no requirement, or an empty one (`{}`). */
export function requiresToken(
  operation: { security?: SecurityRequirements },
  document: { security?: SecurityRequirements },
): boolean {
  const security = operation.security ?? document.security ?? [];
  return security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0);
}
