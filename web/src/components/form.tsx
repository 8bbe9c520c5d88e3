import type { ComponentChildren } from 'preact';
import type { FormState, Values } from '../hooks/use-form.ts';
import { Button } from './button.tsx';
import { ErrorBanner } from './error-banner.tsx';

interface Props<V extends Values> {
  form: FormState<V>;
  submitLabel: string;
  danger?: boolean;
  onCancel?: () => void;
  children?: ComponentChildren;
}

export function Form<V extends Values>({ form, submitLabel, danger = false, onCancel, children }: Props<V>) {
  return (
    <form ref={form.formRef} class="form" noValidate onSubmit={form.onSubmit}>
      {form.error && <ErrorBanner error={form.error} />}
      {children}
      <div class="form-actions">
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
        <Button type="submit" variant={danger ? 'danger' : 'primary'} pending={form.pending}>
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}
