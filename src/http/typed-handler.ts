// Maps an operation of the generated spec types to Express's handler type, so a handler's params,
// query, body and response body are exactly what the contract says, checked by the compiler.
import type { RequestHandler } from 'express';
import type { operations } from '../../generated/schema.d.ts';

export type OperationId = keyof operations;

type Operation<K extends OperationId> = operations[K];

type PathParams<K extends OperationId> = Operation<K>['parameters'] extends { path: infer P }
  ? P
  : Record<string, never>;

type QueryParams<K extends OperationId> = Operation<K>['parameters'] extends { query?: infer Q }
  ? Exclude<Q, undefined>
  : Record<string, never>;

/** The JSON body, or `B | undefined` when the spec makes the body optional (nothing sent is no body). */
type RequestBody<K extends OperationId> =
  Operation<K> extends {
    requestBody: { content: { 'application/json': infer B } };
  }
    ? B
    : Operation<K> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? B | undefined
      : undefined;

/** Every JSON success or error body the operation documents (problem+json is written by the error middleware). */
type ResponseBody<K extends OperationId> = {
  [S in keyof Operation<K>['responses']]: Operation<K>['responses'][S] extends {
    content: { 'application/json': infer B };
  }
    ? B
    : never;
}[keyof Operation<K>['responses']];

export type OperationHandler<K extends OperationId> = RequestHandler<
  PathParams<K>,
  ResponseBody<K>,
  RequestBody<K>,
  QueryParams<K>
>;

/** One handler per operationId in the spec; the compiler refuses a missing one. */
export type OperationHandlers = { [K in OperationId]: OperationHandler<K> };
