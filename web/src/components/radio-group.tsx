import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

export interface RadioOption {
  value: string;
  label: string;
  /** Read after the label by screen readers (aria-describedby), so it may explain a disabled choice. */
  description?: ComponentChildren;
  disabled?: boolean;
}

interface Props {
  legend: string;
  name: string;
  value: string;
  onValue(value: string): void;
  options: readonly RadioOption[];
  /** The whole group is read-only (e.g. for people who may not change it). */
  disabled?: boolean;
  hint?: ComponentChildren;
  /** "inline" lays the choices out in a row, for short labels such as a chart's metric. */
  layout?: 'stacked' | 'inline';
}

/** Native radios in a fieldset: arrow keys, the group's name and each choice's state come from the platform. */
export function RadioGroup({ legend, name, value, onValue, options, disabled = false, hint, layout = 'stacked' }: Props) {
  const id = useId();
  return (
    <fieldset class={`radio-group radio-group-${layout}`} disabled={disabled} aria-describedby={hint ? `${id}-hint` : undefined}>
      <legend>{legend}</legend>
      {hint && (
        <p class="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <div class="radio-options">
        {options.map((o) => {
          const optionId = `${id}-${o.value}`;
          return (
            <div key={o.value} class={o.disabled ? 'radio radio-disabled' : 'radio'}>
              <input
                type="radio"
                id={optionId}
                name={name}
                value={o.value}
                checked={value === o.value}
                disabled={o.disabled}
                aria-describedby={o.description ? `${optionId}-description` : undefined}
                onChange={() => onValue(o.value)}
              />
              <label for={optionId}>{o.label}</label>
              {o.description && (
                <p class="radio-description" id={`${optionId}-description`}>
                  {o.description}
                </p>
              )}
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}
