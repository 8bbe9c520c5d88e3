export const roles = ['viewer', 'editor', 'admin', 'owner'] as const;
export type Role = (typeof roles)[number];

/** Roles an API key may carry: a key is a machine credential and never owns an organisation. */
export const apiKeyRoles = ['viewer', 'editor', 'admin'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(minimum);
}
