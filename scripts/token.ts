import { issueToken } from '../src/auth/token-issuer.js';
import { ConfigError, loadConfig, loadEnvFile } from '../src/config.js';

const USAGE =
  'usage: npm run -s token -- <userID> [--admin] [--expires 12h]\n' +
  '  --expires: a number and a unit, s, m, h or d (e.g. 90s, 30m, 12h, 7d)\n';
/** The lifetimes accepted: a whole number and one unit (jose accepts more, but refuses with a bare TypeError). */
const LIFETIME = /^[1-9][0-9]{0,8}[smhd]$/;

/** `npm run token -- <userID> [--admin] [--expires 12h]`: prints a token the running server accepts. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const admin = args.includes('--admin');
  const expiresAt = args.indexOf('--expires');
  const expiresIn = expiresAt >= 0 ? args[expiresAt + 1] : '12h';
  const userID = args.find((arg, index) => !arg.startsWith('--') && (expiresAt < 0 || index !== expiresAt + 1));
  if (userID === undefined || expiresIn === undefined) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  if (!LIFETIME.test(expiresIn)) {
    process.stderr.write(`--expires ${expiresIn} is not a lifetime\n${USAGE}`);
    process.exit(2);
  }
  loadEnvFile();
  const config = loadConfig();
  if (config.jwt.secret === undefined) {
    process.stderr.write(
      'JWT_SECRET is unset: tokens come from the identity provider behind JWT_JWKS_URL/JWT_PUBLIC_KEY\n',
    );
    process.exit(2);
  }
  process.stdout.write(`${await issueToken(config.jwt.secret, userID, { admin, expiresIn })}\n`);
  if (process.stderr.isTTY && config.jwt.clockToleranceSeconds > 0) {
    process.stderr.write(
      `(accepted until ${expiresIn} from now, plus JWT_CLOCK_TOLERANCE_SECONDS=${config.jwt.clockToleranceSeconds} for clock skew)\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
