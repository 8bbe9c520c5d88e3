import { useState } from 'preact/hooks';
import { api, type PasswordReset, type Role, type User } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { RadioGroup } from '../components/radio-group.tsx';
import { Badge, roleLabels, roleOptions, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../hooks/use-action.ts';
import { useForm } from '../hooks/use-form.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { email, password, passwordHint, required } from '../validation.ts';

const ALL_ROLES: readonly Role[] = ['owner', 'admin', 'editor', 'viewer'];
const NON_OWNER_ROLES: readonly Role[] = ['admin', 'editor', 'viewer'];

function CreateUserDialog({ grantable, onClose, onCreated }: { grantable: readonly Role[]; onClose(): void; onCreated(): void }) {
  const toast = useToast();
  const form = useForm({
    initial: { name: '', email: '', role: 'viewer', password: '' },
    validate: (v) => ({ name: required(v.name, 'a name'), email: email(v.email), password: password(v.password) }),
    submit: async (v) => {
      const { user } = await api.createUser({ name: v.name, email: v.email.trim(), role: v.role as Role, password: v.password });
      toast.success(`${user.name} can now sign in as ${roleLabels[user.role].toLowerCase()}.`);
      onCreated();
      onClose();
    },
  });
  return (
    <FormDialog title="Add user" submitLabel="Add user" form={form} onClose={onClose}>
      <TextField label="Name" autoComplete="off" {...form.field('name')} />
      <TextField label="Email" type="email" autoComplete="off" {...form.field('email')} />
      <SelectField label="Role" options={roleOptions(grantable)} {...form.field('role')} />
      <TextField
        label="Initial password"
        type="password"
        autoComplete="new-password"
        hint={`${passwordHint} Share it with them privately; they can change it under Account.`}
        {...form.field('password')}
      />
    </FormDialog>
  );
}

function ResetPasswordDialog({ user, onClose, onReset }: { user: User; onClose(): void; onReset(done: PasswordReset): void }) {
  const form = useForm({
    initial: { mode: 'generate', password: '', totp: 'keep' },
    validate: (v) => ({ password: v.mode === 'choose' ? password(v.password) : undefined }),
    submit: async (v) => onReset(await api.resetPassword(user.id, { ...(v.mode === 'choose' ? { password: v.password } : {}), removeTotp: v.totp === 'remove' })),
  });
  return (
    <FormDialog title={`Reset the password of ${user.name}?`} submitLabel="Reset password" danger form={form} onClose={onClose}>
      <p>
        {user.email} is signed out everywhere at once, and must choose a new password of their own at their next sign-in.
      </p>
      <RadioGroup
        legend="Temporary password"
        options={[
          { value: 'generate', label: 'Generate a strong one', description: 'Shown to you once, to pass on privately.' },
          { value: 'choose', label: 'Choose one' },
        ]}
        {...form.field('mode')}
      />
      {form.values.mode === 'choose' && (
        <TextField label="Temporary password" type="password" autoComplete="new-password" hint={passwordHint} {...form.field('password')} />
      )}
      {user.totpEnabled && (
        <RadioGroup
          legend="Two-step sign-in"
          options={[
            { value: 'keep', label: 'Keep it on', description: 'They still need a code from their app, or a recovery code.' },
            { value: 'remove', label: 'Turn it off', description: 'For a lost phone: they sign in with the password alone, and can set it up again.' },
          ]}
          {...form.field('totp')}
        />
      )}
    </FormDialog>
  );
}

function TemporaryPasswordDialog({ done, onClose }: { done: PasswordReset; onClose(): void }) {
  return (
    <Dialog title={`Password of ${done.user.name} reset`} onClose={onClose}>
      {done.temporaryPassword ? (
        <>
          <p class="banner banner-warning">
            Pass this temporary password on privately. <strong>You will not see it again.</strong>
          </p>
          <p class="secret-label" id="temporary-password-label">
            Temporary password for {done.user.email}
          </p>
          <code id="temporary-password" class="secret" aria-labelledby="temporary-password-label">
            {done.temporaryPassword}
          </code>
          <CopyButton text={done.temporaryPassword} targetId="temporary-password" />
        </>
      ) : (
        <p>The password you chose is now theirs, until they replace it.</p>
      )}
      <p class="muted">
        They must choose a new password when they next sign in.{' '}
        {done.sessionsEnded === 1 ? 'One session was ended.' : `${done.sessionsEnded} sessions were ended.`}
      </p>
      <div class="form-actions">
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </div>
    </Dialog>
  );
}

export function UsersPage() {
  const me = useMe();
  const toast = useToast();
  const users = useResource(() => api.listUsers().then((r) => r.users), []);
  const action = useAction(users.reload);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);
  const [reset, setReset] = useState<PasswordReset | null>(null);

  const isOwner = me.user.role === 'owner';
  const grantable = isOwner ? ALL_ROLES : NON_OWNER_ROLES;
  const isSelf = (u: User) => u.id === me.user.id;
  // Only an owner may touch the owner role, and nobody may demote themselves.
  const canChangeRole = (u: User) => !isSelf(u) && (isOwner || u.role !== 'owner');
  // The instance owner's password only the operator resets, on the host.
  const canResetPassword = (u: User) => !isSelf(u) && !u.instanceOwner && (isOwner || u.role !== 'owner');

  const columns: Column<User>[] = [
    {
      header: 'Name',
      cell: (u) => (
        <>
          {u.name} {isSelf(u) && <Badge tone="info">you</Badge>}
        </>
      ),
    },
    { header: 'Email', cell: (u) => u.email, class: 'cell-wrap' },
    {
      header: 'Role',
      cell: (u) =>
        canChangeRole(u) ? (
          <select
            class="inline-select"
            aria-label={`Role of ${u.name}`}
            value={u.role}
            disabled={action.busy === u.id}
            onChange={(e) => {
              const role = e.currentTarget.value as Role;
              void action.run(u.id, () => api.updateUser(u.id, { role }), `${u.name} is now ${roleLabels[role].toLowerCase()}.`);
            }}
          >
            {roleOptions(u.role === 'owner' ? ALL_ROLES : grantable).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        ) : (
          roleLabels[u.role]
        ),
    },
    {
      header: 'Status',
      cell: (u) => (
        <>
          {u.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>} {u.mustChangePassword && <Badge tone="neutral">Password reset</Badge>}{' '}
          {u.totpEnabled && <Badge tone="info">Two-step</Badge>}
        </>
      ),
    },
    { header: 'Last sign-in', cell: (u) => <Time value={u.lastLoginAt} fallback="Never" /> },
    {
      header: 'Actions',
      class: 'cell-actions',
      cell: (u) =>
        isSelf(u) ? null : (
          <div class="row-actions">
            <Button
              size="small"
              pending={action.busy === u.id}
              onClick={() =>
                void action.run(
                  u.id,
                  () => api.updateUser(u.id, { disabled: !u.disabled }),
                  u.disabled ? `${u.name} can sign in again.` : `${u.name} is disabled and signed out.`,
                )
              }
            >
              {u.disabled ? 'Enable' : 'Disable'}
              <span class="visually-hidden"> {u.name}</span>
            </Button>
            {canResetPassword(u) && (
              <Button size="small" onClick={() => setResetting(u)}>
                Reset password<span class="visually-hidden"> of {u.name}</span>
              </Button>
            )}
            <Button size="small" variant="danger" onClick={() => setDeleting(u)}>
              Delete<span class="visually-hidden"> {u.name}</span>
            </Button>
          </div>
        ),
    },
  ];

  return (
    <Page
      title="Users"
      intro="People in your organisation and what they may do. Disabled users cannot sign in."
      actions={
        <Button variant="primary" onClick={() => setCreating(true)}>
          Add user
        </Button>
      }
    >
      <ResourceTable resource={users} caption="Users" columns={columns} rowKey={(u) => u.id} empty="No users yet." />
      {creating && <CreateUserDialog grantable={grantable} onClose={() => setCreating(false)} onCreated={users.reload} />}
      {resetting && (
        <ResetPasswordDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onReset={(done) => {
            setResetting(null);
            setReset(done);
            users.reload();
          }}
        />
      )}
      {reset && <TemporaryPasswordDialog done={reset} onClose={() => setReset(null)} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting.name}?`}
          confirmLabel="Delete user"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api.deleteUser(deleting.id);
            toast.success(`${deleting.name} was deleted.`);
            users.reload();
          }}
        >
          <p>
            {deleting.email} will lose access immediately. This cannot be undone; to keep their history reversible,
            disable them instead.
          </p>
        </ConfirmDialog>
      )}
    </Page>
  );
}
