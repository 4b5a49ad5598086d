// Tasks API under test: the real service started in this process with startServer(loadConfig(env)),
// exactly as src/server.ts's main() and the tests do. scripts/bench.ts forks one of these per run and
// sets the environment (DATABASE_URL or PGLITE_DATA_DIR, NODE_ENV=production, LOG_LEVEL=silent, …).
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { serveAsChild } from './child.ts';

await serveAsChild(async () => {
  const running = await startServer(loadConfig(process.env));
  return { url: running.url, close: () => running.close() };
});
