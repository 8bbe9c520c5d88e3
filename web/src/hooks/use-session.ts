import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { api, onRestricted, onUnauthenticated, toApiError, type ApiError, type Me } from '../api.ts';

export type SessionState =
  | { status: 'loading' }
  | { status: 'error'; error: ApiError }
  | { status: 'setup' }
  | { status: 'anonymous'; expired: boolean }
  | { status: 'signed-in'; me: Me };

export interface Session {
  state: SessionState;
  /** Re-reads setup status and the signed-in user from the server. */
  refresh(): Promise<void>;
  signedIn(me: Me): void;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() needs a SessionContext provider');
  return session;
}

/** For pages that only render once signed in; the app shell guarantees that. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useMe() used outside the signed-in shell');
  return state.me;
}

export function useSessionState(): Session {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const refresh = useCallback(async () => {
    try {
      const { needed } = await api.setupStatus();
      if (needed) {
        setState({ status: 'setup' });
        return;
      }
      setState({ status: 'signed-in', me: await api.me() });
    } catch (err) {
      const error = toApiError(err);
      if (error.code === 'unauthenticated') {
        setState((s) => (s.status === 'anonymous' ? s : { status: 'anonymous', expired: false }));
      } else {
        setState({ status: 'error', error });
      }
    }
  }, []);

  useEffect(() => {
    // Only a signed-in user can have their session end under them; a 401 while signed out is expected.
    onUnauthenticated(() => setState((s) => (s.status === 'signed-in' ? { status: 'anonymous', expired: true } : s)));
    // A call refused because the session became restricted: re-read it, so its one screen shows.
    onRestricted(() => void refresh());
    void refresh();
    return () => {
      onUnauthenticated(null);
      onRestricted(null);
    };
  }, [refresh]);

  const signedIn = useCallback((me: Me) => setState({ status: 'signed-in', me }), []);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      // Even if the server call fails the user asked to leave; the cookie dies with its TTL.
      setState({ status: 'anonymous', expired: false });
    }
  }, []);

  return useMemo(() => ({ state, refresh, signedIn, signOut }), [state, refresh, signedIn, signOut]);
}
