import { useState } from 'preact/hooks';
import { api, type Settings } from '../api.ts';
import { useForm } from '../hooks/use-form.ts';
import { useToast } from '../hooks/use-toast.ts';
import { Form } from './form.tsx';
import { RadioGroup } from './radio-group.tsx';

/** The organisation's sign-in rules: whether every member must use two-step sign-in. */
export function SecuritySettingsForm({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const toast = useToast();
  const [saved, setSaved] = useState(settings.security);
  const form = useForm({
    initial: { requireTotp: saved.requireTotp ? 'required' : 'optional' },
    submit: async (v) => {
      const next = await api.updateSecurity({ requireTotp: v.requireTotp === 'required' });
      setSaved(next.security);
      toast.success(
        next.security.requireTotp
          ? 'Saved. Members without two-step sign-in will set it up the next time they sign in.'
          : 'Saved. Two-step sign-in is up to each member.',
      );
    },
  });
  const radios = (
    <RadioGroup
      legend="Two-step sign-in"
      disabled={!canEdit}
      hint={canEdit ? 'A code from an authenticator app after the password.' : 'Only admins can change it.'}
      options={[
        { value: 'optional', label: 'Up to each member', description: 'Members turn it on under Account.' },
        {
          value: 'required',
          label: 'Required for everyone',
          description: 'Members without it must set it up right after they sign in; until then they can do nothing else. Set up your own first under Account.',
        },
      ]}
      {...form.field('requireTotp')}
    />
  );
  return canEdit ? (
    <Form form={form} submitLabel="Save">
      {radios}
    </Form>
  ) : (
    radios
  );
}
