import { canManageUsers } from '../api.ts';
import { Page } from '../components/page.tsx';
import { useMe } from '../hooks/use-session.ts';

export function HomePage() {
  const { user, organisation } = useMe();
  return (
    <Page title={`Welcome, ${user.name}`}>
      <div class="panel">
        <h2>{organisation.name}</h2>
        <p>
          Knowledge bases are not available yet; they arrive in a later release. This console currently manages who can
          use Lectern.
        </p>
        {canManageUsers(user) ? (
          <ul class="link-list">
            <li>
              <a href="/users">Add and manage users</a>
            </li>
            <li>
              <a href="/api-keys">Create API keys for integrations</a>
            </li>
            <li>
              <a href="/audit">Review the audit log</a>
            </li>
          </ul>
        ) : (
          <p>
            You can change your password on the <a href="/account">account page</a>.
          </p>
        )}
      </div>
    </Page>
  );
}
