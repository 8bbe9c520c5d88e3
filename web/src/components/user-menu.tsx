import { useLocation } from 'preact-iso';
import { useDisclosure } from '../hooks/use-disclosure.ts';
import { useMe, useSession } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { roleLabels } from './format.tsx';

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? (parts.at(-1)?.[0] ?? '') : '')).toUpperCase();
}

/** A disclosure rather than an ARIA menu: two plain controls do not need roving focus. */
export function UserMenu() {
  const me = useMe();
  const session = useSession();
  const toast = useToast();
  const { route } = useLocation();
  const menu = useDisclosure<HTMLDivElement, HTMLButtonElement>();

  const signOut = async () => {
    menu.close();
    await session.signOut();
    route('/login', true);
    toast.success('You are signed out.');
  };

  return (
    <div class="user-menu" ref={menu.containerRef}>
      <button
        ref={menu.buttonRef}
        type="button"
        class="user-menu-button"
        aria-expanded={menu.open}
        aria-controls="user-menu-panel"
        aria-label={`${me.user.name}, account menu`}
        onClick={menu.toggle}
      >
        <span class="avatar" aria-hidden="true">
          {initials(me.user.name)}
        </span>
        <span class="user-menu-name">{me.user.name}</span>
      </button>
      {menu.open && (
        <div id="user-menu-panel" class="menu-panel">
          <p class="menu-identity">
            <strong>{me.user.name}</strong>
            <span>{me.user.email}</span>
            <span class="muted">
              {roleLabels[me.user.role]} · {me.organisation.name}
            </span>
          </p>
          <a class="menu-item" href="/account" onClick={menu.close}>
            Account and password
          </a>
          <button type="button" class="menu-item" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}
