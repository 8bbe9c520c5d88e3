import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { Route, Router, useLocation } from 'preact-iso';
import { canManageUsers, type Me } from './api.ts';
import { ErrorBanner } from './components/error-banner.tsx';
import { ErrorBoundary } from './components/error-boundary.tsx';
import { Layout } from './components/layout.tsx';
import { Toasts } from './components/toasts.tsx';
import { SessionContext, useSession, useSessionState, type SessionState } from './hooks/use-session.ts';
import { ToastContext, useToastState } from './hooks/use-toast.ts';
import { AccountPage } from './pages/account.tsx';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { AuditPage } from './pages/audit.tsx';
import { BackupsPage } from './pages/backups.tsx';
import { ChatPage } from './pages/chat.tsx';
import { DocumentPage } from './pages/document.tsx';
import { HomePage } from './pages/home.tsx';
import { KbPage } from './pages/kb.tsx';
import { KbsPage } from './pages/kbs.tsx';
import { LoginPage } from './pages/login.tsx';
import { ForbiddenPage, NotFoundPage } from './pages/not-found.tsx';
import { OrganisationsPage } from './pages/organisations.tsx';
import { RestrictedScreen } from './pages/restricted.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { SetupPage } from './pages/setup.tsx';
import { SystemPage } from './pages/system.tsx';
import { UsagePage } from './pages/usage.tsx';
import { UsersPage } from './pages/users.tsx';

interface Section {
  path: string;
  label: string;
  component: ComponentType;
  allow?: (me: Me) => boolean;
  /** Who sees it in the navigation, when that differs from who may open it. */
  listed?: (me: Me) => boolean;
}

const admins = (me: Me) => canManageUsers(me.user);

// One list drives both the navigation and the router, so a hidden entry is also a guarded route.
const sections: readonly Section[] = [
  { path: '/', label: 'Home', component: HomePage },
  { path: '/kbs', label: 'Knowledge bases', component: KbsPage },
  { path: '/users', label: 'Users', component: UsersPage, allow: admins },
  { path: '/api-keys', label: 'API keys', component: ApiKeysPage, allow: admins },
  { path: '/audit', label: 'Audit log', component: AuditPage, allow: admins },
  { path: '/organisations', label: 'Organisations', component: OrganisationsPage, allow: (me) => me.user.instanceOwner },
  { path: '/usage', label: 'Usage', component: UsagePage, allow: admins },
  { path: '/system', label: 'System', component: SystemPage, allow: admins },
  { path: '/backups', label: 'Backups', component: BackupsPage, allow: (me) => me.user.instanceOwner },
  // Everyone may read which engines answer them; only admins change it, so only they need the link.
  { path: '/settings', label: 'Settings', component: SettingsPage, listed: admins },
  { path: '/account', label: 'Account', component: AccountPage },
];

const Blank = () => null;

// The chat page outlives its own URL changes: the first answer of a new conversation moves it
// from /chat to /chat/:id while it is still on screen, and switching conversations keeps the list.
const boundaryKey = (path: string) => path.replace(/^(\/kbs\/[^/]+\/chat)(\/.*)?$/, '$1');

function SignedIn({ me }: { me: Me }) {
  const { path } = useLocation();
  const allowed = (s: Section) => !s.allow || s.allow(me);
  return (
    <Layout nav={sections.filter((s) => allowed(s) && (!s.listed || s.listed(me)))}>
      {/* Keyed by path so a page that crashed recovers when the user navigates away. */}
      <ErrorBoundary key={boundaryKey(path)}>
        <Router>
          {[
            ...sections.map((s) => <Route key={s.path} path={s.path} component={allowed(s) ? s.component : ForbiddenPage} />),
            <Route key="kb" path="/kbs/:kbId" component={KbPage} />,
            <Route key="document" path="/kbs/:kbId/documents/:docId" component={DocumentPage} />,
            <Route key="chat" path="/kbs/:kbId/chat/:conversationId?" component={ChatPage} />,
            // Left behind by sign-in or setup; Screens redirects from them on the next tick.
            <Route key="login" path="/login" component={Blank} />,
            <Route key="setup" path="/setup" component={Blank} />,
            <Route key="404" default component={NotFoundPage} />,
          ]}
        </Router>
      </ErrorBoundary>
    </Layout>
  );
}

/** Where the URL must go for the current session state, or null if it is fine. */
function redirectFor(state: SessionState, path: string, url: string): string | null {
  switch (state.status) {
    case 'setup':
      return path === '/setup' ? null : '/setup';
    case 'anonymous':
      if (path === '/login') return null;
      return path === '/' || path === '/setup' ? '/login' : `/login?next=${encodeURIComponent(url)}`;
    case 'signed-in':
      return path === '/login' || path === '/setup' ? '/' : null;
    default:
      return null;
  }
}

function Screens() {
  const { state, refresh } = useSession();
  const { path, url, route } = useLocation();
  const target = redirectFor(state, path, url);

  useEffect(() => {
    if (target) route(target, true);
  }, [target, route]);

  switch (state.status) {
    case 'loading':
      return (
        <main id="main" class="boot" aria-busy="true">
          <p>Loading Lectern…</p>
        </main>
      );
    case 'error':
      return (
        <main id="main" class="boot">
          <h1>Lectern is not reachable</h1>
          <ErrorBanner error={state.error} onRetry={() => void refresh()} />
        </main>
      );
    case 'setup':
      return <SetupPage />;
    case 'anonymous':
      return <LoginPage expired={state.expired} />;
    case 'signed-in':
      // A session limited to one thing (a new password, two-step sign-in) shows only that.
      return state.me.restriction ? <RestrictedScreen me={state.me} /> : <SignedIn me={state.me} />;
  }
}

export function App() {
  const session = useSessionState();
  const { toasts, toaster, dismiss } = useToastState();
  return (
    <SessionContext.Provider value={session}>
      <ToastContext.Provider value={toaster}>
        <Screens />
        <Toasts toasts={toasts} dismiss={dismiss} />
      </ToastContext.Provider>
    </SessionContext.Provider>
  );
}
