export interface Crumb {
  href: string;
  label: string;
}

/** Links back up the hierarchy; the current page is the h1 that follows, so it is not repeated. */
export function Breadcrumbs({ trail }: { trail: readonly Crumb[] }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumbs">
      <ol>
        {trail.map((c) => (
          <li key={c.href}>
            <a href={c.href}>{c.label}</a>
          </li>
        ))}
      </ol>
    </nav>
  );
}
