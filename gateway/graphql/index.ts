/** GraphQL at /graphql: graphql-yoga mounted in Express behind the same API-key guard and rate
 * limit as REST (app.ts mounts it after the guard), with query limits, bounded batching, and no
 * introspection (nor GraphiQL) unless enabled — the default outside NODE_ENV=production. */
import type { Request, RequestHandler, Response } from 'express';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { AppError } from '../../common/errors';
import { requireAdminToken } from '../admin-token';
import { type QueryLimits, queryLimitsRule } from './limits';
import { buildSchema, type GraphQLContext, type GraphQLDeps } from './schema';

export interface GraphQLOptions extends GraphQLDeps {
  limits: QueryLimits;
  /** Most operations in one batched request (a JSON array body). */
  maxBatchOperations: number;
  introspection: boolean;
  adminToken: string | undefined;
}

/** GraphiQL loads its scripts and styles from unpkg; helmet's CSP would block the page. */
const GRAPHIQL_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; style-src 'self' 'unsafe-inline' https://unpkg.com; " +
  "img-src 'self' data: https://raw.githubusercontent.com; font-src 'self' data: https://unpkg.com; connect-src 'self'";

export function graphqlHandler(options: GraphQLOptions): RequestHandler {
  const schema = buildSchema(options);
  const checkAdmin = requireAdminToken(options.adminToken);
  const rules = [
    queryLimitsRule(options.limits),
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const limits: Plugin = {
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
  const yoga = createYoga<{ req: Request; res: Response }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: options.introspection,
    landingPage: false,
    batching: { limit: options.maxBatchOperations },
    plugins: [limits],
    // Resolvers turn every AppError into a GraphQLError with its code; anything else is internal.
    maskedErrors: true,
    logging: false,
    context: ({ req }): GraphQLContext => ({
      headers: { get: (name) => req.get(name) },
      requireAdmin() {
        let failure: unknown;
        checkAdmin(req, {} as Response, (err?: unknown) => {
          failure = err;
        });
        if (failure)
          throw failure instanceof AppError ? failure : new AppError('forbidden', 'admin token check failed');
      },
    }),
  });
  return function graphql(req, res) {
    if (
      req.method === 'GET' &&
      options.introspection &&
      req.accepts(['application/json', 'text/html']) === 'text/html'
    ) {
      res.setHeader('Content-Security-Policy', GRAPHIQL_CSP);
    }
    void yoga.handle(req, res, { req, res });
  };
}
