import { canManageUsers } from '../api.ts';
import { Page } from '../components/page.tsx';
import { useMe } from '../hooks/use-session.ts';

export function HomePage() {
  const { user, organisation } = useMe();
  return (
    <Page title={`Welcome, ${user.name}`}>
      <div class="panel">
        <h2>{organisation.name}</h2>
        <p>Put your manuals, guidelines and policies into knowledge bases, then search them down to the page.</p>
        <ul class="link-list">
          <li>
            <a href="/kbs">Open your knowledge bases</a>
          </li>
          {canManageUsers(user) && (
            <>
              <li>
                <a href="/users">Add and manage users</a>
              </li>
              <li>
                <a href="/api-keys">Create API keys for integrations</a>
              </li>
              <li>
                <a href="/audit">Review the audit log</a>
              </li>
            </>
          )}
          <li>
            <a href="/account">Change your password</a>
          </li>
        </ul>
      </div>
    </Page>
  );
}
