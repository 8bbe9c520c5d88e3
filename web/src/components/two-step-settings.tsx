import { useState } from 'preact/hooks';
import { api, type Reauthentication, type TotpStatus } from '../api.ts';
import { useForm } from '../hooks/use-form.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useSession } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { required } from '../validation.ts';
import { Button } from './button.tsx';
import { Dialog } from './dialog.tsx';
import { TextField } from './field.tsx';
import { FormDialog } from './form-dialog.tsx';
import { Time } from './format.tsx';
import { RecoveryCodes } from './recovery-codes.tsx';
import { ResourceView } from './resource-view.tsx';
import { TotpSetup } from './totp-setup.tsx';

/** One field takes either: six digits are a code from the app, anything else the password. */
function proofOf(text: string): Reauthentication {
  const digits = text.replace(/\s+/g, '');
  return /^\d{6}$/.test(digits) ? { code: digits } : { password: text };
}

function ReauthDialog({ title, submitLabel, danger, onClose, act }: { title: string; submitLabel: string; danger?: boolean; onClose(): void; act(proof: Reauthentication): Promise<void> }) {
  const form = useForm({
    initial: { proof: '' },
    validate: (v) => ({ proof: required(v.proof, 'your password or a code from your app') }),
    submit: async (v) => act(proofOf(v.proof)),
  });
  const error = form.error?.detailFor('code') ?? form.error?.detailFor('password');
  const field = form.field('proof');
  return (
    <FormDialog title={title} submitLabel={submitLabel} danger={danger ?? false} form={form} onClose={onClose}>
      <TextField
        label="Your password, or a code from your app"
        type="password"
        autoComplete="current-password"
        hint="To confirm it is you."
        {...field}
        error={field.error ?? error}
      />
    </FormDialog>
  );
}

function Enabled({ status, onChanged }: { status: TotpStatus; onChanged(): void }) {
  const toast = useToast();
  const session = useSession();
  const [dialog, setDialog] = useState<'off' | 'codes' | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>On since <Time value={status.enabledAt} /></dd>
        <dt>Recovery codes left</dt>
        <dd>{status.recoveryCodesLeft} of 10</dd>
      </dl>
      {status.recoveryCodesLeft <= 3 && (
        <p class="banner banner-warning">Few recovery codes are left. Make new ones so a lost phone does not lock you out.</p>
      )}
      <div class="row-actions">
        <Button onClick={() => setDialog('codes')}>New recovery codes</Button>
        <Button variant="danger" onClick={() => setDialog('off')}>
          Turn off two-step sign-in
        </Button>
      </div>
      {dialog === 'codes' && (
        <ReauthDialog
          title="Make new recovery codes"
          submitLabel="Make new codes"
          onClose={() => setDialog(null)}
          act={async (proof) => {
            setCodes((await api.totpRecoveryCodes(proof)).recoveryCodes);
            setDialog(null);
            onChanged();
          }}
        />
      )}
      {dialog === 'off' && (
        <ReauthDialog
          title="Turn off two-step sign-in?"
          submitLabel="Turn off"
          danger
          onClose={() => setDialog(null)}
          act={async (proof) => {
            await api.totpDisable(proof);
            setDialog(null);
            toast.success('Two-step sign-in is off. Signing in needs only your password now.');
            onChanged();
            // Where the organisation requires it, the session can now only set it up again.
            await session.refresh();
          }}
        />
      )}
      {codes && (
        <Dialog title="New recovery codes" onClose={() => setCodes(null)}>
          <p>The old codes no longer work.</p>
          <RecoveryCodes codes={codes} />
          <div class="form-actions">
            <Button variant="primary" onClick={() => setCodes(null)}>
              Done
            </Button>
          </div>
        </Dialog>
      )}
    </>
  );
}

/** The account page's two-step sign-in section: set it up, replace its recovery codes, turn it off. */
export function TwoStepSettings() {
  const status = useResource(() => api.totpStatus(), []);
  const session = useSession();
  return (
    <ResourceView resource={status}>
      {(s) =>
        s.enabled ? (
          <Enabled status={s} onChanged={status.reload} />
        ) : (
          <TotpSetup
            onDone={() => {
              status.reload();
              void session.refresh();
            }}
          >
            <p>Off. With it on, signing in asks for a code from an authenticator app on your phone after your password, so a stolen password is not enough.</p>
          </TotpSetup>
        )
      }
    </ResourceView>
  );
}
