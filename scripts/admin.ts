// Operator commands: `npm run admin -- help` lists them (server/admin/).

import { adminCommands } from '../server/admin/commands.ts';
import { EXIT } from '../server/admin/command.ts';
import { runAdmin } from '../server/admin/run.ts';
import { EnvFileError, loadEnvFile } from '../server/ops/env-file.ts';

// Configured like the server: .env in the working directory fills in what the environment leaves unset.
try {
  loadEnvFile();
} catch (err) {
  if (!(err instanceof EnvFileError)) throw err;
  process.stderr.write(`lectern admin: ${err.message}\n`);
  process.exit(EXIT.config);
}

// Files an admin command creates under DATA_DIR are the appliance's alone, as the server's are.
process.umask(0o077);
process.exitCode = await runAdmin(process.argv.slice(2), process.env, adminCommands, {
  say: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`lectern admin: ${line}\n`),
});
