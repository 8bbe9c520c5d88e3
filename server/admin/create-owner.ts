// create-owner: the way in on a fresh install without the console's setup page — on a server
// reached only over SSH, or before anyone could claim setup from the network. It does what setup
// does (the first organisation and its instance owner, under the same claim, so it and a setup
// request racing it make one owner) and refuses once setup is done.

import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuditLog } from '../audit/audit.ts';
import { newTemporaryPassword } from '../auth/temporary-password.ts';
import { SessionService } from '../auth/sessions.ts';
import { cryptoRandom, systemClock } from '../clock.ts';
import { collections } from '../db.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { OrganisationService } from '../organisations/organisations.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { UserService } from '../users/users.ts';
import { EXIT, UsageError, type AdminCommand } from './command.ts';
import { openConfiguredStore } from './open-store.ts';
import { operator } from './operator.ts';

/** The claim setup takes (server/auth/auth.ts): whoever inserts it first sets the instance up. */
const SETUP_CLAIM = 'setup';

export const createOwner: AdminCommand = {
  name: 'create-owner',
  summary: 'Set up a fresh install from the host: the first organisation and its instance owner.',
  help: `Usage: npm run admin -- create-owner --email <email> --name <name> --organisation <name> [--password-stdin]

Does what the console's setup page does, from the host: creates the first organisation and its
instance owner. The password is generated and printed once, and must be changed at the first
sign-in; with --password-stdin it is read from standard input instead (the first line), e.g.
  printf '%s\\n' "$PASSWORD" | npm run admin -- create-owner ... --password-stdin
and is then the password, subject to the same strength check as setup's.

  --email          the owner's sign-in email
  --name           the owner's name
  --organisation   the organisation's name
  DATA_DIR         as for the server, or MONGODB_URL when the server uses MongoDB; the store must
                   exist, so start the server once first

It may run while the server runs: it takes the same claim as setup, so of it and a setup request
at the same moment exactly one succeeds. Exits 1 with one line once setup is done.`,

  async run(args, { config, out }) {
    const { values, positionals } = parseArgs({
      args,
      options: { email: { type: 'string' }, name: { type: 'string' }, organisation: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { email, name, organisation } = values;
    if (!email || !name?.trim() || !organisation?.trim()) throw new UsageError('--email, --name and --organisation are required');
    if (!z.email().safeParse(email.trim()).success) throw new UsageError(`${JSON.stringify(email)} is not an email address`);
    const chosen = values['password-stdin'] ? (await text(process.stdin)).split(/\r?\n/)[0] ?? '' : null;
    if (chosen === '') throw new UsageError('--password-stdin: standard input held no password');
    const password = chosen ?? newTemporaryPassword(cryptoRandom);

    const store = await openConfiguredStore(config, out);
    if (!store) return EXIT.failed;
    try {
      const db = collections(store, config.dataKeys);
      const done = (await db.meta.findOne({ _id: SETUP_CLAIM })) !== null || (await db.users.countDocuments({})) > 0;
      if (done) {
        out.warn('setup is already done: sign in, or reset a password with npm run admin -- reset-password <email>');
        return EXIT.failed;
      }
      const deps = { clock: systemClock, random: cryptoRandom };
      const audit = new AuditLog({ audit: db.audit, ...deps, log: createLogger({ level: 'silent' }) });
      const sessions = new SessionService({ sessions: db.sessions, ...deps, revocations: { publish: async () => {} }, ttlMs: config.SESSION_TTL_HOURS * 3_600_000, maxLifetimeMs: config.SESSION_MAX_HOURS * 3_600_000 });
      const users = new UserService({ users: db.users, sessions, audit, ...deps, erasure: { eraseUser: () => Promise.reject(new Error('create-owner deletes no one')) } });
      const organisations = new OrganisationService({ organisations: db.organisations, users, audit, ...deps });
      try {
        await db.meta.insertOne({ _id: SETUP_CLAIM, at: systemClock.now().toISOString() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        out.warn('setup is already done: sign in, or reset a password with npm run admin -- reset-password <email>');
        return EXIT.failed;
      }
      try {
        const created = await organisations.createWithFirstUser(organisation, { name: name.trim(), email, password }, { role: 'owner', instanceOwner: true });
        if (chosen === null) await users.setPassword(created.user, password, 'password', { mustChange: true });
        await audit.record({
          organisationId: created.organisation._id,
          action: 'setup',
          actor: operator('create-owner'),
          target: { type: 'organisation', id: created.organisation._id, name: created.organisation.name },
          ip: null,
        });
        out.say(`Created the organisation ${created.organisation.name} and its instance owner ${created.user.email} (${created.user.name}).`);
        if (chosen === null) {
          out.say(`Password, shown this once: ${password}`);
          out.say('It must be changed at the first sign-in.');
        } else {
          out.say('The password is the one read from standard input.');
        }
        return EXIT.ok;
      } catch (err) {
        await db.meta.deleteOne({ _id: SETUP_CLAIM });
        if (err instanceof AppError) {
          out.warn(`${err.message}${err.details?.length ? ` ${err.details.map((d) => `${d.path}: ${d.message}`).join('; ')}` : ''}`);
          return EXIT.failed;
        }
        throw err;
      }
    } finally {
      await store.close();
    }
  },
};
