// Operator commands: `npm run admin -- help` lists them (server/admin/).

import { adminCommands } from '../server/admin/commands.ts';
import { runAdmin } from '../server/admin/run.ts';

// Files an admin command creates under DATA_DIR are the appliance's alone, as the server's are.
process.umask(0o077);
process.exitCode = await runAdmin(process.argv.slice(2), process.env, adminCommands, {
  say: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`lectern admin: ${line}\n`),
});
