import type { Toast } from '../hooks/use-toast.ts';

interface Props {
  toasts: Toast[];
  dismiss(id: number): void;
}

/** Always rendered (even when empty) so screen readers already watch the live region. */
export function Toasts({ toasts, dismiss }: Props) {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          <div>
            <p>{t.message}</p>
            {t.traceId && <p class="trace-id">Trace id: {t.traceId}</p>}
          </div>
          <button type="button" class="icon-button" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
      ))}
    </div>
  );
}
