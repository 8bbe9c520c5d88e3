import type { ComponentChildren } from 'preact';
import type { Resource } from '../hooks/use-resource.ts';
import { ErrorBanner } from './error-banner.tsx';

interface Props<T> {
  resource: Resource<T>;
  children(data: T): ComponentChildren;
}

export function ResourceView<T>({ resource, children }: Props<T>) {
  const { data, error, loading, reload } = resource;
  return (
    <div aria-busy={loading}>
      {error && <ErrorBanner error={error} onRetry={reload} />}
      {data === undefined ? loading && <p class="loading">Loading…</p> : children(data)}
    </div>
  );
}
