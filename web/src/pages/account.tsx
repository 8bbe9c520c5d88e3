import { api, myConversationsExportUrl } from '../api.ts';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { roleLabels } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { TwoStepSettings } from '../components/two-step-settings.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { password, passwordHint, required } from '../validation.ts';

function ChangePasswordForm() {
  const toast = useToast();
  const form = useForm({
    initial: { currentPassword: '', newPassword: '', confirmPassword: '' },
    validate: (v) => ({
      currentPassword: required(v.currentPassword, 'your current password'),
      newPassword: password(v.newPassword),
      confirmPassword: v.confirmPassword === v.newPassword ? undefined : 'The two new passwords do not match.',
    }),
    submit: async (v) => {
      await api.changePassword({ currentPassword: v.currentPassword, newPassword: v.newPassword });
      form.reset();
      toast.success('Password changed. Your other sessions were signed out.');
    },
  });
  return (
    <Form form={form} submitLabel="Change password">
      <TextField label="Current password" type="password" autoComplete="current-password" {...form.field('currentPassword')} />
      <TextField label="New password" type="password" autoComplete="new-password" hint={passwordHint} {...form.field('newPassword')} />
      <TextField label="Repeat new password" type="password" autoComplete="new-password" {...form.field('confirmPassword')} />
    </Form>
  );
}

export function AccountPage() {
  const { user, organisation } = useMe();
  return (
    <Page title="Account">
      <section class="panel" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{user.name}</dd>
          <dt>Email</dt>
          <dd>{user.email}</dd>
          <dt>Role</dt>
          <dd>{roleLabels[user.role]}</dd>
          <dt>Organisation</dt>
          <dd>{organisation.name}</dd>
        </dl>
      </section>
      <section class="panel" aria-labelledby="my-data-heading">
        <h2 id="my-data-heading">Your conversations</h2>
        <p>Every conversation you have had, with the answers and their sources, as one file (JSON Lines). The download is recorded in the audit log.</p>
        <a class="button button-secondary" href={myConversationsExportUrl} download>
          Download my conversations
        </a>
      </section>
      <section class="panel" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <ChangePasswordForm />
      </section>
      <section class="panel" aria-labelledby="two-step-heading">
        <h2 id="two-step-heading">Two-step sign-in</h2>
        <TwoStepSettings />
      </section>
    </Page>
  );
}
