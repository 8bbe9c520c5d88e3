import { createContext } from 'preact';
import { useCallback, useContext, useMemo, useState } from 'preact/hooks';
import { toApiError } from '../api.ts';

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  message: string;
  traceId: string | null;
}

export interface Toaster {
  success(message: string): void;
  /** Shows an API failure with its trace id so an admin can find the log line. */
  error(err: unknown): void;
}

export const ToastContext = createContext<Toaster | null>(null);

export function useToast(): Toaster {
  const toaster = useContext(ToastContext);
  if (!toaster) throw new Error('useToast() needs a ToastContext provider');
  return toaster;
}

const TOAST_MS = 6000;
let nextId = 1;

export function useToastState(): { toasts: Toast[]; toaster: Toaster; dismiss(id: number): void } {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);

  const push = useCallback(
    (toast: Omit<Toast, 'id'>) => {
      const id = nextId++;
      setToasts((list) => [...list.slice(-2), { ...toast, id }]);
      // Errors stay until dismissed: they may carry a trace id someone needs to copy.
      if (toast.kind === 'success') setTimeout(() => dismiss(id), TOAST_MS);
    },
    [dismiss],
  );

  const toaster = useMemo<Toaster>(
    () => ({
      success: (message) => push({ kind: 'success', message, traceId: null }),
      error: (err) => {
        const e = toApiError(err);
        push({ kind: 'error', message: e.message, traceId: e.traceId });
      },
    }),
    [push],
  );

  return { toasts, toaster, dismiss };
}
