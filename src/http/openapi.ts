// The contract, loaded once: the parsed document drives routing and validation, and is what the
// service serves at /openapi.json; the YAML text is served as written at /openapi.yaml.
import { readFileSync } from 'node:fs';
import type { Express, RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import { parse } from 'yaml';
import type { OperationHandlers, OperationId } from './typed-handler.ts';

export const SPEC_PATH = new URL('../../openapi/openapi.yaml', import.meta.url);

export interface ApiSpec {
  yaml: string;
  document: OpenAPIV3.DocumentV3_1;
}

export function loadSpec(): ApiSpec {
  const yaml = readFileSync(SPEC_PATH, 'utf8');
  return { yaml, document: parse(yaml) as OpenAPIV3.DocumentV3_1 };
}

export function validator(spec: ApiSpec, options: { validateResponses: boolean }): RequestHandler[] {
  return OpenApiValidator.middleware({
    // The validator rewrites the document it is given (it resolves $refs in place): give it a copy.
    apiSpec: structuredClone(spec.document),
    validateRequests: { allErrors: true, removeAdditional: false },
    validateResponses: options.validateResponses ? { allErrors: true } : false,
    validateFormats: true,
    // Authentication is src/http/auth.ts's job (WWW-Authenticate, rate limits, ownership).
    validateSecurity: false,
    $refParser: { mode: 'dereference' },
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Routes every operation in the spec to the handler named by its operationId: the spec decides
 * paths, methods and which operations need a token (their `security`, or the document's); the
 * compiler makes sure a handler exists for each operationId. Registered on the app itself, not a
 * sub-router, so the validator's coerced params reach the handlers.
 */
export function registerOperations(
  app: Express,
  spec: ApiSpec,
  handlers: OperationHandlers,
  guard: { secured: RequestHandler<{ user_id?: string }> },
): void {
  for (const [path, item] of Object.entries(spec.document.paths ?? {})) {
    const expressPath = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const method of METHODS) {
      const operation = item?.[method];
      const operationId = operation?.operationId as OperationId | undefined;
      if (!operation || !operationId) continue;
      const handler = handlers[operationId];
      if (!handler) throw new Error(`No handler for operation ${operationId} (${method.toUpperCase()} ${path})`);
      const security = operation.security ?? spec.document.security ?? [];
      const secured = security.length > 0 && !security.some((requirement) => Object.keys(requirement).length === 0);
      if (secured) app[method](expressPath, guard.secured as RequestHandler, handler as RequestHandler);
      else app[method](expressPath, handler as RequestHandler);
    }
  }
}
