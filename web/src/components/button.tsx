import type { ComponentChildren, Ref } from 'preact';

export interface ButtonProps {
  children: ComponentChildren;
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  size?: 'normal' | 'small';
  type?: 'button' | 'submit';
  /** Disables the button and says so, so a double click cannot send a request twice. */
  pending?: boolean;
  disabled?: boolean;
  onClick?: () => void;
  buttonRef?: Ref<HTMLButtonElement>;
  label?: string;
  expanded?: boolean;
  controls?: string;
  class?: string;
}

export function Button({ children, variant = 'secondary', size = 'normal', type = 'button', pending = false, disabled = false, onClick, buttonRef, label, expanded, controls, class: extra }: ButtonProps) {
  const classes = ['button', `button-${variant}`, size === 'small' ? 'button-small' : '', extra ?? ''].filter(Boolean).join(' ');
  return (
    <button
      ref={buttonRef}
      type={type}
      class={classes}
      disabled={disabled || pending}
      aria-busy={pending || undefined}
      aria-label={label}
      aria-expanded={expanded}
      aria-controls={controls}
      onClick={onClick}
    >
      {children}
      {pending && <span class="spinner" aria-hidden="true" />}
    </button>
  );
}
