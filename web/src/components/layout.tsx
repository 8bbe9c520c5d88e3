import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { useDisclosure } from '../hooks/use-disclosure.ts';
import { useMe } from '../hooks/use-session.ts';
import { UserMenu } from './user-menu.tsx';

export interface NavItem {
  path: string;
  label: string;
}

interface Props {
  nav: readonly NavItem[];
  children: ComponentChildren;
}

function isCurrent(item: string, path: string): boolean {
  return item === '/' ? path === '/' : path === item || path.startsWith(`${item}/`);
}

export function Layout({ nav, children }: Props) {
  const me = useMe();
  const { path } = useLocation();
  const menu = useDisclosure<HTMLDivElement, HTMLButtonElement>();
  const { close } = menu;

  // On phones the nav overlays the page; following a link should reveal the page it leads to.
  useEffect(close, [path, close]);

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-start" ref={menu.containerRef}>
          <button
            ref={menu.buttonRef}
            type="button"
            class="nav-toggle"
            aria-expanded={menu.open}
            aria-controls="site-nav"
            onClick={menu.toggle}
          >
            <span class="nav-toggle-icon" aria-hidden="true" />
            Menu
          </button>
          <a href="/" class="brand">
            Lectern
          </a>
          <span class="org-name">{me.organisation.name}</span>
          <nav id="site-nav" class={menu.open ? 'nav nav-open' : 'nav'} aria-label="Main">
            <ul>
              {nav.map((item) => (
                <li key={item.path}>
                  <a href={item.path} aria-current={isCurrent(item.path, path) ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        </div>
        <UserMenu />
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
