import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, toApiError, type SetupState } from '../api.ts';
import { AuthLayout } from '../components/auth-layout.tsx';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useSession } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { email, password, passwordHint, required } from '../validation.ts';

type TokenSource = SetupState['tokenSource'];

/** Where the person setting up finds the token, in the words of whoever reads the hint. */
function tokenHint(source: TokenSource): string {
  if (source === 'log') return 'See the server log: this server printed a one-time token when it started, on a line beginning “setup token”.';
  if (source === 'file') return 'The token in SETUP_TOKEN_FILE on the server, set by whoever installed this Lectern instance.';
  return 'The SETUP_TOKEN configured by whoever installed this Lectern instance.';
}

export function SetupPage() {
  const session = useSession();
  const toast = useToast();
  const { route } = useLocation();
  const [tokenRequired, setTokenRequired] = useState(false);
  const [tokenSource, setTokenSource] = useState<TokenSource>(null);
  useEffect(() => {
    api.setupStatus().then(
      (s) => {
        setTokenRequired(s.tokenRequired);
        setTokenSource(s.tokenSource);
      },
      () => undefined,
    );
  }, []);
  const form = useForm({
    initial: { organisation: '', name: '', email: '', password: '', setupToken: '' },
    validate: (v) => ({
      organisation: required(v.organisation, 'the organisation name'),
      name: required(v.name, 'your name'),
      email: email(v.email),
      password: password(v.password),
      setupToken: tokenRequired ? required(v.setupToken, 'the setup token') : undefined,
    }),
    submit: async ({ setupToken, ...values }) => {
      try {
        const me = await api.setup({ ...values, email: values.email.trim(), ...(setupToken ? { setupToken } : {}) });
        session.signedIn(me);
        route('/', true);
        toast.success(`${me.organisation.name} is ready. You are signed in as its owner.`);
      } catch (err) {
        // The operator may have set SETUP_TOKEN after this page loaded.
        if (toApiError(err).code === 'invalid_setup_token') setTokenRequired(true);
        throw err;
      }
    },
  });

  return (
    <AuthLayout title="Set up Lectern" intro="Create your organisation and the owner account. You can add people afterwards.">
      <Form form={form} submitLabel="Create organisation and account">
        {tokenRequired && (
          <TextField
            label="Setup token"
            type="password"
            autoComplete="off"
            hint={tokenHint(tokenSource)}
            {...form.field('setupToken')}
          />
        )}
        <TextField label="Organisation name" autoComplete="organization" {...form.field('organisation')} />
        <TextField label="Your name" autoComplete="name" {...form.field('name')} />
        <TextField label="Email" type="email" autoComplete="email" {...form.field('email')} />
        <TextField label="Password" type="password" autoComplete="new-password" hint={passwordHint} {...form.field('password')} />
      </Form>
    </AuthLayout>
  );
}
