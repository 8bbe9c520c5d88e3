// Client-side checks mirror the server's rules only to give instant feedback; the server's
// validation is authoritative and its field messages are shown the same way.

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export function required(value: string, label: string): string | undefined {
  return value.trim() === '' ? `Enter ${label}.` : undefined;
}

export function email(value: string): string | undefined {
  if (value.trim() === '') return 'Enter an email address.';
  return /^[^\s@]+@[^\s@]+$/.test(value.trim()) ? undefined : 'Enter an email address like name@example.org.';
}

export function password(value: string): string | undefined {
  if (value.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (value.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  return undefined;
}

export const passwordHint = `At least ${PASSWORD_MIN} characters. A few unrelated words make a strong one.`;
