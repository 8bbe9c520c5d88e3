import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import type { FieldBinding } from '../hooks/use-form.ts';

interface ShellProps {
  label: string;
  hint?: string | undefined;
  error: string | undefined;
  children(aria: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }): ComponentChildren;
}

/** Label, hint and validation message wired to the control through ids, shared by every input kind. */
function FieldShell({ label, hint, error, children }: ShellProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : '';
  const errorId = error ? `${id}-error` : '';
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={error ? 'field field-invalid' : 'field'}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {hint && (
        <p class="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

interface TextFieldProps extends FieldBinding {
  label: string;
  hint?: string;
  type?: 'text' | 'email' | 'password';
  autoComplete?: string;
  maxLength?: number;
  /** The on-screen keyboard to offer: `numeric` for one-time codes. */
  inputMode?: 'numeric' | 'text';
}

export function TextField({ label, hint, error, name, value, onValue, type = 'text', autoComplete, maxLength, inputMode }: TextFieldProps) {
  return (
    <FieldShell label={label} hint={hint} error={error}>
      {(aria) => (
        <input
          {...aria}
          name={name}
          // Preact types <input> as a union keyed by a literal `type`; ours is one of several text-like ones.
          type={type as 'text'}
          value={value}
          required
          autoComplete={autoComplete}
          maxLength={maxLength}
          inputMode={inputMode}
          spellcheck={type === 'text' ? undefined : false}
          onInput={(e) => onValue(e.currentTarget.value)}
        />
      )}
    </FieldShell>
  );
}

export interface Option {
  value: string;
  label: string;
}

interface SelectFieldProps extends FieldBinding {
  label: string;
  hint?: string;
  options: readonly Option[];
}

export function SelectField({ label, hint, error, name, value, onValue, options }: SelectFieldProps) {
  return (
    <FieldShell label={label} hint={hint} error={error}>
      {(aria) => (
        <select {...aria} name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </FieldShell>
  );
}

interface NumberFieldProps extends FieldBinding {
  label: string;
  hint?: string | undefined;
  min?: number;
  max?: number;
  /** Shown while the field is empty: what applies when nothing is entered. */
  placeholder?: string | undefined;
  /** Empty means "not set" rather than a missing value. */
  optional?: boolean;
}

export function NumberField({ label, hint, error, name, value, onValue, min, max, placeholder, optional = false }: NumberFieldProps) {
  return (
    <FieldShell label={label} hint={hint} error={error}>
      {(aria) => (
        <input
          {...aria}
          name={name}
          type="number"
          inputMode="numeric"
          step={1}
          min={min}
          max={max}
          value={value}
          placeholder={placeholder}
          required={!optional}
          onInput={(e) => onValue(e.currentTarget.value)}
        />
      )}
    </FieldShell>
  );
}
