import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, toApiError } from '../api.ts';
import { AuthLayout } from '../components/auth-layout.tsx';
import { Button } from '../components/button.tsx';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { RadioGroup } from '../components/radio-group.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useSession } from '../hooks/use-session.ts';
import { email, required } from '../validation.ts';

/** Only same-origin paths, so a crafted `?next=//evil.example` cannot bounce users off-site. */
function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** The second step of a two-step sign-in: a code from the authenticator app, or a recovery code. */
function SecondStep({ token, onDone, onExpired }: { token: string; onDone(): Promise<void>; onExpired(): void }) {
  const [recovery, setRecovery] = useState(false);
  const form = useForm({
    initial: { code: '' },
    validate: (v) => ({ code: required(v.code, recovery ? 'a recovery code' : 'the 6-digit code from your app') }),
    submit: async (v) => {
      try {
        await api.completeSignIn(recovery ? { token, recoveryCode: v.code.trim() } : { token, code: v.code.replace(/\s+/g, '') });
      } catch (err) {
        if (toApiError(err).code === 'sign_in_expired') onExpired();
        throw err;
      }
      await onDone();
    },
  });
  return (
    <>
      <Form form={form} submitLabel="Sign in">
        {recovery ? (
          <TextField label="Recovery code" hint="One of the codes you saved when you set up two-step sign-in. Each works once." autoComplete="off" maxLength={40} {...form.field('code')} />
        ) : (
          <TextField label="Authentication code" hint="The 6-digit code your authenticator app shows for Lectern." autoComplete="one-time-code" inputMode="numeric" maxLength={20} {...form.field('code')} />
        )}
      </Form>
      <p class="auth-alternative">
        <Button
          variant="ghost"
          size="small"
          onClick={() => {
            form.reset();
            setRecovery(!recovery);
          }}
        >
          {recovery ? 'Use a code from your app instead' : 'Lost your phone? Use a recovery code'}
        </Button>
      </p>
    </>
  );
}

/** The password opens accounts in several organisations: the person picks one and signs in to it. */
function ChooseOrganisation({ choices, signIn }: { choices: ReadonlyArray<{ id: string; name: string }>; signIn(organisationId: string): Promise<void> }) {
  const form = useForm({
    initial: { organisationId: choices[0]?.id ?? '' },
    validate: (v) => ({ organisationId: required(v.organisationId, 'an organisation') }),
    submit: (v) => signIn(v.organisationId),
  });
  const choice = form.field('organisationId');
  return (
    <Form form={form} submitLabel="Continue">
      <RadioGroup legend="Organisation" name="organisation" value={choice.value} onValue={choice.onValue} options={choices.map((o) => ({ value: o.id, label: o.name }))} />
    </Form>
  );
}

export function LoginPage({ expired }: { expired: boolean }) {
  const session = useSession();
  const { route, query } = useLocation();
  const [challenge, setChallenge] = useState<string | null>(null);
  const [challengeExpired, setChallengeExpired] = useState(false);
  const [choices, setChoices] = useState<ReadonlyArray<{ id: string; name: string }> | null>(null);
  const finish = async () => {
    session.signedIn(await api.me());
    route(safeNext(query.next), true);
  };
  const form = useForm({
    initial: { email: '', password: '' },
    validate: (v) => ({ email: email(v.email), password: required(v.password, 'your password') }),
    submit: (values) => signIn(values.email, values.password),
  });
  const signIn = async (email: string, password: string, organisationId?: string) => {
    const result = await api.login({ email: email.trim(), password, ...(organisationId ? { organisationId } : {}) });
    if ('chooseOrganisation' in result) {
      setChoices(result.chooseOrganisation);
      return;
    }
    setChoices(null);
    if ('secondFactor' in result) {
      setChallengeExpired(false);
      setChallenge(result.secondFactor.token);
      return;
    }
    await finish();
  };

  if (choices) {
    return (
      <AuthLayout title="Choose an organisation" intro="Your email and password open accounts in more than one organisation. Which one do you want to sign in to?">
        <ChooseOrganisation choices={choices} signIn={(organisationId) => signIn(form.values.email, form.values.password, organisationId)} />
      </AuthLayout>
    );
  }
  if (challenge) {
    return (
      <AuthLayout title="Two-step sign-in" intro="Your password was right. Now enter the code from your authenticator app.">
        <SecondStep
          token={challenge}
          onDone={finish}
          onExpired={() => {
            setChallenge(null);
            setChallengeExpired(true);
          }}
        />
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Sign in" intro="Sign in to manage your Lectern organisation.">
      {(expired || challengeExpired) && (
        <p class="banner banner-info" role="status">
          {challengeExpired ? 'That sign-in took too long. Enter your email and password again.' : 'Your session has ended. Sign in again to continue.'}
        </p>
      )}
      <Form form={form} submitLabel="Sign in">
        <TextField label="Email" type="email" autoComplete="username" {...form.field('email')} />
        <TextField label="Password" type="password" autoComplete="current-password" {...form.field('password')} />
      </Form>
    </AuthLayout>
  );
}
