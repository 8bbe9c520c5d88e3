import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { useForm } from '../hooks/use-form.ts';
import { Button } from './button.tsx';
import { CopyButton } from './copy-button.tsx';
import { TextField } from './field.tsx';
import { Form } from './form.tsx';
import { QrCode } from './qr-code.tsx';
import { RecoveryCodes } from './recovery-codes.tsx';
import { required } from '../validation.ts';

/** The key in groups of four, as authenticator apps show typed keys. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

/**
 * Setting up two-step sign-in: a new key (QR code, and the text for typing in), a code from the
 * app to confirm it, then the recovery codes, shown once. `onDone` runs when the person has seen them.
 */
export function TotpSetup({ onDone, startLabel = 'Set up two-step sign-in', children }: { onDone(): void; startLabel?: string; children?: ComponentChildren }) {
  const [key, setKey] = useState<{ secret: string; uri: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const form = useForm({
    initial: { code: '' },
    validate: (v) => ({ code: required(v.code, 'the 6-digit code from your app') }),
    submit: async (v) => setCodes((await api.totpConfirm(v.code.replace(/\s+/g, ''))).recoveryCodes),
  });

  const start = async () => {
    setStarting(true);
    setStartError(null);
    try {
      setKey(await api.totpSetup());
    } catch (err) {
      setStartError(err instanceof Error ? err.message : String(err));
    } finally {
      setStarting(false);
    }
  };

  if (codes) {
    return (
      <div class="totp-setup">
        <p role="status">Two-step sign-in is on. From now on, signing in asks for a code from your app after your password.</p>
        <RecoveryCodes codes={codes} />
        <div class="form-actions">
          <Button variant="primary" onClick={onDone}>
            I have saved my recovery codes
          </Button>
        </div>
      </div>
    );
  }
  if (!key) {
    return (
      <div class="totp-setup">
        {children}
        {startError && (
          <p class="banner banner-error" role="alert">
            {startError}
          </p>
        )}
        <Button variant="primary" pending={starting} onClick={() => void start()}>
          {startLabel}
        </Button>
      </div>
    );
  }
  return (
    <div class="totp-setup">
      <ol class="steps">
        <li>
          <p>Scan this QR code with an authenticator app (such as Aegis, Google Authenticator, Microsoft Authenticator or 1Password).</p>
          <QrCode value={key.uri} label="QR code for your authenticator app" />
        </li>
        <li>
          <p class="secret-label" id="totp-key-label">
            Or type this key into the app (time-based, 6 digits):
          </p>
          <code id="totp-key" class="secret" aria-labelledby="totp-key-label">
            {grouped(key.secret)}
          </code>
          <CopyButton text={key.secret} targetId="totp-key" />
        </li>
        <li>
          <p>Enter the code the app shows to finish.</p>
          <Form form={form} submitLabel="Turn on two-step sign-in">
            <TextField label="Code from the app" autoComplete="one-time-code" inputMode="numeric" maxLength={20} {...form.field('code')} />
          </Form>
        </li>
      </ol>
    </div>
  );
}
