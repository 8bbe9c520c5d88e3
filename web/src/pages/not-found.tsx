import { Page } from '../components/page.tsx';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        There is nothing at this address. <a href="/">Go to the start page</a>.
      </p>
    </Page>
  );
}

export function ForbiddenPage() {
  return (
    <Page title="Not available for your role">
      <p>
        Ask an admin of your organisation if you need access. <a href="/">Go to the start page</a>.
      </p>
    </Page>
  );
}
