import { useEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { toApiError, type ApiError } from '../api.ts';

export type Values = Record<string, string>;
export type Validate<V extends Values> = (values: V) => Partial<Record<keyof V, string | undefined>>;

export interface FieldBinding {
  name: string;
  value: string;
  error: string | undefined;
  onValue(value: string): void;
}

export interface FormState<V extends Values> {
  values: V;
  pending: boolean;
  error: ApiError | null;
  formRef: RefObject<HTMLFormElement | null>;
  field(name: keyof V & string): FieldBinding;
  onSubmit(event: Event): void;
  reset(): void;
}

export interface FormOptions<V extends Values> {
  initial: V;
  validate?: Validate<V>;
  submit(values: V): Promise<void>;
}

/**
 * Controlled form state. Client-side checks only show after the first submit attempt so users are
 * not scolded while typing; server `details` are mapped onto fields by name (dotted paths allowed).
 * Values are never cleared on failure.
 */
export function useForm<V extends Values>({ initial, validate, submit }: FormOptions<V>): FormState<V> {
  const [values, setValues] = useState<V>(initial);
  const [attempts, setAttempts] = useState(0);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const formRef = useRef<HTMLFormElement>(null);

  const clientErrors: ReturnType<Validate<V>> = attempts > 0 && validate ? validate(values) : {};

  useEffect(() => {
    if (attempts === 0) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [attempts, error]);

  const field = (name: keyof V & string): FieldBinding => ({
    name,
    value: values[name] ?? '',
    error: clientErrors[name] ?? error?.detailFor(name),
    onValue: (value) => setValues((v) => ({ ...v, [name]: value })),
  });

  const onSubmit = (event: Event) => {
    event.preventDefault();
    if (pending) return;
    setAttempts((n) => n + 1);
    const problems = validate ? Object.values(validate(values)).filter(Boolean) : [];
    if (problems.length > 0) return;
    setPending(true);
    setError(null);
    submit(values)
      .catch((err: unknown) => setError(toApiError(err)))
      .finally(() => setPending(false));
  };

  const reset = () => {
    setValues(initial);
    setAttempts(0);
    setError(null);
  };

  return { values, pending, error, formRef, field, onSubmit, reset };
}
