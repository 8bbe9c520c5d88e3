import { useLocation } from 'preact-iso';
import { api } from '../api.ts';
import { AuthLayout } from '../components/auth-layout.tsx';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useSession } from '../hooks/use-session.ts';
import { email, required } from '../validation.ts';

/** Only same-origin paths, so a crafted `?next=//evil.example` cannot bounce users off-site. */
function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function LoginPage({ expired }: { expired: boolean }) {
  const session = useSession();
  const { route, query } = useLocation();
  const form = useForm({
    initial: { email: '', password: '' },
    validate: (v) => ({ email: email(v.email), password: required(v.password, 'your password') }),
    submit: async (values) => {
      await api.login({ email: values.email.trim(), password: values.password });
      session.signedIn(await api.me());
      route(safeNext(query.next), true);
    },
  });

  return (
    <AuthLayout title="Sign in" intro="Sign in to manage your Lectern organisation.">
      {expired && (
        <p class="banner banner-info" role="status">
          Your session has ended. Sign in again to continue.
        </p>
      )}
      <Form form={form} submitLabel="Sign in">
        <TextField label="Email" type="email" autoComplete="username" {...form.field('email')} />
        <TextField label="Password" type="password" autoComplete="current-password" {...form.field('password')} />
      </Form>
    </AuthLayout>
  );
}
