import type { ApiError } from '../api.ts';
import { Button } from './button.tsx';

interface Props {
  error: ApiError;
  onRetry?: () => void;
}

export function ErrorBanner({ error, onRetry }: Props) {
  return (
    <div class="banner banner-error" role="alert">
      <p class="banner-message">{error.message}</p>
      {error.traceId && <p class="trace-id">Trace id: {error.traceId}</p>}
      {onRetry && (
        <Button size="small" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}
