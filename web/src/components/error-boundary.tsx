import { Component, type ComponentChildren } from 'preact';
import { Button } from './button.tsx';

interface Props {
  children: ComponentChildren;
}

interface State {
  error: unknown;
}

/** Render-time failures show a way out instead of a blank page. */
export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static override getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown): void {
    console.error('Lectern console crashed while rendering', error);
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <div class="panel crash" role="alert">
        <h2>Something went wrong</h2>
        <p>This part of the console hit an unexpected error. Reloading usually fixes it; your data on the server is unaffected.</p>
        <Button variant="primary" onClick={() => location.reload()}>
          Reload the page
        </Button>
      </div>
    );
  }
}
