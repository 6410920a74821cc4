import { issueToken } from '../src/auth/token-issuer.js';
import { ConfigError, loadConfig } from '../src/config.js';

/** `npm run token -- <userID> [--admin] [--expires 12h]`: prints a token the running server accepts. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const admin = args.includes('--admin');
  const expiresAt = args.indexOf('--expires');
  const expiresIn = expiresAt >= 0 ? args[expiresAt + 1] : '12h';
  const userID = args.find((arg, index) => !arg.startsWith('--') && (expiresAt < 0 || index !== expiresAt + 1));
  if (userID === undefined || expiresIn === undefined) {
    process.stderr.write('usage: npm run token -- <userID> [--admin] [--expires 12h]\n');
    process.exit(2);
  }
  const config = loadConfig();
  if (config.jwt.secret === undefined) {
    process.stderr.write(
      'JWT_SECRET is unset: tokens come from the identity provider behind JWT_JWKS_URL/JWT_PUBLIC_KEY\n',
    );
    process.exit(2);
  }
  process.stdout.write(`${await issueToken(config.jwt.secret, userID, { admin, expiresIn })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
