import type { ComponentChildren } from 'preact';
import { Page } from './page.tsx';

interface Props {
  title: string;
  intro: string;
  children: ComponentChildren;
}

/** The signed-out screens (setup, sign in): a single centred card without the app navigation. */
export function AuthLayout({ title, intro, children }: Props) {
  return (
    <div class="auth">
      <header class="auth-brand">Lectern</header>
      <main id="main" class="auth-card">
        <Page title={title} intro={intro}>
          {children}
        </Page>
      </main>
    </div>
  );
}
