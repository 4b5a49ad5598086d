// Prints a bearer token for a user, signed with BETTER_AUTH_SECRET or, with the embedded database
// and no secret configured, with the service's development secret.
// Usage: npm run token -- <user_id> [--ttl <seconds>]
import { parseArgs } from 'node:util';
import { loadConfig, loadOrExit } from '../src/config.ts';
import { loadOrCreateDevelopmentSecret } from '../src/auth/development-secret.ts';
import { signToken } from '../src/auth/sign-token.ts';
import { isUserId, USER_ID_RULE } from '../src/auth/user-id.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string', default: '3600' } },
});
const userId = positionals[0];
const ttl = Number(values.ttl);
if (!userId || !isUserId(userId) || !Number.isInteger(ttl) || ttl < 1) {
  console.error(`usage: npm run token -- <user_id> [--ttl <seconds>]   (user_id: ${USER_ID_RULE})`);
  process.exit(2);
}

function refuse(message: string): never {
  console.error(message);
  process.exit(1);
}

const config = loadOrExit(() => loadConfig());
let secret = config.auth.secret;
if (!secret && config.auth.developmentSecret && config.database.kind === 'pglite') {
  if (config.database.dataDir.startsWith('memory://')) {
    refuse(
      'PGLITE_DATA_DIR=memory:// keeps the development secret in the server process; set BETTER_AUTH_SECRET instead.',
    );
  }
  secret = await loadOrCreateDevelopmentSecret(config.database.dataDir);
}
if (!secret) {
  refuse('Only JWKS_URL is configured: tokens come from your Better Auth server, not from here.');
}
console.log(
  await signToken({
    secret,
    userId,
    expiresInSeconds: ttl,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  }),
);
