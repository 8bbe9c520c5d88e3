// `npm run admin -- <command> [options]`: finds the command, loads the configuration the way the
// server does, runs it, and turns what went wrong into one line and a sysexits status.

import { ConfigError, loadConfig } from '../config.ts';
import { BackupKeyError } from '../backup/restore.ts';
import { BackupConfigError } from '../backup/settings.ts';
import { DataKeyError } from '../crypto/data-key.ts';
import { EXIT, UsageError, type AdminCommand, type AdminOutput } from './command.ts';

type Env = Record<string, string | undefined>;

export async function runAdmin(argv: readonly string[], env: Env, commands: readonly AdminCommand[], out: AdminOutput): Promise<number> {
  const [name, ...args] = argv;
  const list = (): string => ['Usage: npm run admin -- <command> [options]   (help <command> for its options)', '', ...commands.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`)].join('\n');
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const asked = commands.find((c) => c.name === args[0]);
    out.say(asked ? asked.help : list());
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    out.warn(`unknown command ${JSON.stringify(name)}\n\n${list()}`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out.say(command.help);
    return EXIT.ok;
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.warn(err.message);
    return EXIT.config;
  }
  try {
    return await command.run(args, { config, out });
  } catch (err) {
    if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      out.warn(`${(err as Error).message}\n\n${command.help}`);
      return EXIT.usage;
    }
    // Keys and settings the command needs but the configuration lacks or gets wrong: one line, EX_CONFIG.
    if (err instanceof DataKeyError || err instanceof BackupConfigError || err instanceof BackupKeyError) {
      out.warn(err.message);
      return EXIT.config;
    }
    throw err;
  }
}
