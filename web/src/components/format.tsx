import type { Role } from '../api.ts';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

interface TimeProps {
  value: string | null;
  fallback?: string;
  seconds?: boolean;
}

/** Local, human format on screen; the machine-readable instant stays in `datetime`. */
export function Time({ value, fallback = '—', seconds = false }: TimeProps) {
  if (!value) return <span class="muted">{fallback}</span>;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{value}</span>;
  return (
    <time dateTime={value} title={date.toISOString()}>
      {(seconds ? dateTimeSeconds : dateTime).format(date)}
    </time>
  );
}

export const roleLabels: Record<Role, string> = {
  owner: 'Owner',
  admin: 'Admin',
  editor: 'Editor',
  viewer: 'Viewer',
};

interface BadgeProps {
  tone?: 'neutral' | 'good' | 'bad' | 'info';
  children: string;
}

export function Badge({ tone = 'neutral', children }: BadgeProps) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function roleOptions(roles: readonly Role[]): { value: Role; label: string }[] {
  return roles.map((role) => ({ value: role, label: roleLabels[role] }));
}
