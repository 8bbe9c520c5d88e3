import { api, type Me } from '../api.ts';
import { AuthLayout } from '../components/auth-layout.tsx';
import { Button } from '../components/button.tsx';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { TotpSetup } from '../components/totp-setup.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useSession } from '../hooks/use-session.ts';
import { password, passwordHint, required } from '../validation.ts';

function SignOut() {
  const session = useSession();
  return (
    <p class="auth-alternative">
      <Button variant="ghost" size="small" onClick={() => void session.signOut()}>
        Sign out
      </Button>
    </p>
  );
}

/** After a password reset: the temporary password must be replaced before anything else. */
function ChooseNewPassword() {
  const session = useSession();
  const form = useForm({
    initial: { currentPassword: '', newPassword: '', confirmPassword: '' },
    validate: (v) => ({
      currentPassword: required(v.currentPassword, 'the temporary password you signed in with'),
      newPassword: password(v.newPassword),
      confirmPassword: v.confirmPassword === v.newPassword ? undefined : 'The two new passwords do not match.',
    }),
    submit: async (v) => {
      await api.changePassword({ currentPassword: v.currentPassword, newPassword: v.newPassword });
      await session.refresh();
    },
  });
  return (
    <AuthLayout title="Choose a new password" intro="Your password was reset. Choose a new one of your own before you continue.">
      <Form form={form} submitLabel="Save new password">
        <TextField label="Temporary password" type="password" autoComplete="current-password" {...form.field('currentPassword')} />
        <TextField label="New password" type="password" autoComplete="new-password" hint={passwordHint} {...form.field('newPassword')} />
        <TextField label="Repeat new password" type="password" autoComplete="new-password" {...form.field('confirmPassword')} />
      </Form>
      <SignOut />
    </AuthLayout>
  );
}

/** Where the organisation requires two-step sign-in, a member without it sets it up first. */
function SetUpTwoStep({ organisation }: { organisation: string }) {
  const session = useSession();
  return (
    <AuthLayout title="Set up two-step sign-in" intro={`${organisation} requires two-step sign-in: a code from an authenticator app on your phone after your password.`}>
      <TotpSetup startLabel="Start" onDone={() => void session.refresh()} />
      <SignOut />
    </AuthLayout>
  );
}

/** What a restricted session sees instead of the console: the one thing it must do. */
export function RestrictedScreen({ me }: { me: Me }) {
  return me.restriction === 'password_change' ? <ChooseNewPassword /> : <SetUpTwoStep organisation={me.organisation.name} />;
}
