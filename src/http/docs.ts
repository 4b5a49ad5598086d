// Public, read-only: Swagger UI at /docs and the contract itself at /openapi.json and /openapi.yaml.
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { ApiSpec } from '../spec.ts';
import { documentHeaders } from './security-headers.ts';

export function docsRouter(spec: ApiSpec): Router {
  const router = Router();
  const json = JSON.stringify(spec.document);
  router.get('/openapi.json', documentHeaders, (_req, res) => {
    res.type('application/json').send(json);
  });
  router.get('/openapi.yaml', documentHeaders, (_req, res) => {
    res.type('application/yaml').send(spec.yaml);
  });
  router.get('/', documentHeaders, (_req, res) => {
    res.redirect(302, '/docs/');
  });
  router.use(
    '/docs',
    documentHeaders,
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      customSiteTitle: 'Tasks API',
      // Load the very document the service serves, so the page and /openapi.json never disagree.
      swaggerOptions: { url: '/openapi.json', persistAuthorization: true, displayOperationId: true },
    }),
  );
  return router;
}
