// reset-password: the way back in for the instance owner (or anyone) who lost their password —
// nobody inside the appliance may reset the instance owner's. On the host, against DATA_DIR: a
// generated temporary password, printed once, which must be changed at the next sign-in; every
// session of the user ends; the audit log records it with the operator as actor.

import { parseArgs } from 'node:util';
import { AuditLog } from '../audit/audit.ts';
import { SessionService } from '../auth/sessions.ts';
import { cryptoRandom, systemClock } from '../clock.ts';
import { collections } from '../db.ts';
import { createLogger } from '../logger.ts';
import type { OrganisationDoc } from '../organisations/organisations.ts';
import { normaliseEmail, totpEnabled, UserService, type UserDoc } from '../users/users.ts';
import { EXIT, UsageError, type AdminCommand } from './command.ts';
import { openConfiguredStore } from './open-store.ts';
import { operator } from './operator.ts';

export const resetPassword: AdminCommand = {
  name: 'reset-password',
  summary: "Give a user (the instance owner too) a temporary password to change at next sign-in; ends their sessions.",
  help: `Usage: npm run admin -- reset-password <email> [--organisation <id or name>] [--disable-totp]

Sets a generated temporary password for the user with <email>, prints it once, and marks it
temporary: at their next sign-in they can do nothing but choose a new one. Every session of the
user is ended. Nothing else changes — the account stays enabled or disabled, its role and
organisation stay — and the audit log of the user's organisation records the reset, by the
operator. This is how the instance owner gets back in: nobody inside Lectern may reset the
instance owner's password.

  <email>          the user's sign-in email
  --organisation   which organisation's account, when the email has accounts in several
  --disable-totp   also turn the user's two-step sign-in off (their authenticator and recovery
                   codes are lost); without it, signing in still needs a code
  DATA_DIR         as for the server, or MONGODB_URL when the server uses MongoDB
                   (DATA_KEY_FILE is not needed)

It may run while the server runs. The server checks every request's session against the store,
so the user's sessions are refused from their next request on; their open realtime sockets and
event streams re-check every 60 seconds and close then. Exits 1 with one line when no user has
that email, or when it has accounts in several organisations and none was named.`,

  async run(args, { config, out }) {
    const { values, positionals } = parseArgs({ args, options: { 'disable-totp': { type: 'boolean' }, organisation: { type: 'string' } }, strict: true, allowPositionals: true });
    const [email, ...extra] = positionals;
    if (!email) throw new UsageError('the email of the user is required');
    if (extra.length > 0) throw new UsageError(`one email only (got ${positionals.length})`);
    const store = await openConfiguredStore(config, out);
    if (!store) return EXIT.failed;
    try {
      const db = collections(store, null);
      // Read and written unsealed: the reset touches no encrypted field, so it needs no data key
      // (turning two-step sign-in off writes nulls over the sealed key).
      const userDocs = store.collection<UserDoc>('users');
      const sessions = new SessionService({
        sessions: db.sessions,
        clock: systemClock,
        random: cryptoRandom,
        // Another process's sockets cannot hear a notice from this one: they find out from the store.
        revocations: { publish: async () => {} },
        ttlMs: config.SESSION_TTL_HOURS * 3_600_000,
        maxLifetimeMs: config.SESSION_MAX_HOURS * 3_600_000,
      });
      const audit = new AuditLog({ audit: db.audit, clock: systemClock, random: cryptoRandom, log: createLogger({ level: 'silent' }) });
      const deps = { users: userDocs, sessions, audit, clock: systemClock, random: cryptoRandom, erasure: noErasure };
      const users = new UserService(deps);
      const organisations = store.collection<OrganisationDoc>('organisations');
      const named = values.organisation;
      const accounts = [];
      for (const account of await users.findAllByEmail(email)) {
        const organisation = await organisations.findOne({ _id: account.organisationId });
        if (named === undefined || named === account.organisationId || named === organisation?.name) accounts.push({ account, organisation });
      }
      if (accounts.length !== 1 || !accounts[0]) {
        const which = named === undefined ? '' : ` in the organisation ${named}`;
        if (accounts.length === 0) out.warn(`no user has the email ${normaliseEmail(email)}${which}`);
        else out.warn(`${normaliseEmail(email)} has accounts in ${accounts.map((a) => `${a.organisation?.name ?? '?'} (${a.account.organisationId})`).join(', ')}: name one with --organisation`);
        return EXIT.failed;
      }
      const { account: user, organisation } = accounts[0];
      const hadTotp = totpEnabled(user);
      const done = await users.forcePasswordReset(user, { removeTotp: values['disable-totp'] === true }, { actor: operator('reset-password'), ip: null });
      const who = `${user.email} (${user.name}, ${user.instanceOwner ? 'instance owner' : user.role}${organisation ? ` of ${organisation.name}` : ''})`;
      out.say(`Password of ${who} reset.`);
      out.say(`Temporary password, shown this once: ${done.temporaryPassword}`);
      out.say(`They must choose a new password when they next sign in. Sessions ended: ${done.sessionsEnded}.`);
      if (hadTotp) {
        out.say(values['disable-totp'] ? 'Two-step sign-in was turned off.' : 'Two-step sign-in stays on: signing in still needs a code or a recovery code (--disable-totp turns it off).');
      }
      if (user.disabled) out.say('Note: the account is disabled; an admin of its organisation must enable it before it can sign in.');
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};

/** Deleting users is not this command's business. */
const noErasure = {
  eraseUser: () => Promise.reject(new Error('reset-password does not delete users')),
};
