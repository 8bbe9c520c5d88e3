import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

interface Props {
  title: string;
  intro?: ComponentChildren;
  actions?: ComponentChildren;
  children?: ComponentChildren;
}

/**
 * Every route renders one of these. Focusing the heading on mount tells screen-reader users that
 * the client-side navigation happened and where they now are.
 */
export function Page({ title, intro, actions, children }: Props) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Lectern`;
    heading.current?.focus();
  }, [title]);
  return (
    <>
      <div class="page-header">
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {intro && <p class="page-intro">{intro}</p>}
      {children}
    </>
  );
}
