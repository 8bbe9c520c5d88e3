import type { ComponentChildren } from 'preact';
import { useForm } from '../hooks/use-form.ts';
import { FormDialog } from './form-dialog.tsx';

interface Props {
  title: string;
  confirmLabel: string;
  /** Rejecting keeps the dialog open and shows the error; resolving closes it. */
  onConfirm(): Promise<void>;
  onClose(): void;
  children: ComponentChildren;
}

export function ConfirmDialog({ title, confirmLabel, onConfirm, onClose, children }: Props) {
  const form = useForm({
    initial: {},
    submit: async () => {
      await onConfirm();
      onClose();
    },
  });
  return (
    <FormDialog title={title} submitLabel={confirmLabel} form={form} danger onClose={onClose}>
      <div class="confirm-message">{children}</div>
    </FormDialog>
  );
}
