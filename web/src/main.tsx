import { render } from 'preact';
import { LocationProvider } from 'preact-iso';
import { App } from './app.tsx';
import { ErrorBoundary } from './components/error-boundary.tsx';

const root = document.getElementById('app');
if (root) {
  render(
    <ErrorBoundary>
      <LocationProvider>
        <App />
      </LocationProvider>
    </ErrorBoundary>,
    root,
  );
}
