import type { ComponentChildren } from 'preact';
import type { FormState, Values } from '../hooks/use-form.ts';
import { Dialog } from './dialog.tsx';
import { Form } from './form.tsx';

interface Props<V extends Values> {
  title: string;
  submitLabel: string;
  form: FormState<V>;
  danger?: boolean;
  onClose(): void;
  children: ComponentChildren;
}

export function FormDialog<V extends Values>({ title, submitLabel, form, danger = false, onClose, children }: Props<V>) {
  return (
    <Dialog title={title} onClose={onClose}>
      <Form form={form} submitLabel={submitLabel} danger={danger} onCancel={onClose}>
        {children}
      </Form>
    </Dialog>
  );
}
