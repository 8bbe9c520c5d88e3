import { useId } from 'preact/hooks';
import type { FieldBinding } from '../hooks/use-form.ts';

interface Props extends FieldBinding {
  label: string;
  hint?: string;
  maxLength?: number;
}

/** A multi-line, optional field; laid out like the single-line fields in field.tsx. */
export function TextAreaField({ label, hint, error, name, value, onValue, maxLength }: Props) {
  const id = useId();
  const note = error ?? hint;
  return (
    <div class={error ? 'field field-invalid' : 'field'}>
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={name}
        rows={3}
        value={value}
        maxLength={maxLength}
        aria-invalid={Boolean(error)}
        aria-describedby={note ? `${id}-note` : undefined}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      {note && (
        <p class={error ? 'field-error' : 'field-hint'} id={`${id}-note`}>
          {note}
        </p>
      )}
    </div>
  );
}
