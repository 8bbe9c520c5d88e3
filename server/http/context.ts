import type { RouterContext } from '@koa/router';
import type { Logger } from '../logger.ts';
import type { Principal } from '../auth/principal.ts';

export interface AppState {
  requestId: string;
  log: Logger;
  principal?: Principal;
}

export type AppContext = RouterContext<AppState>;

/** The principal of an authenticated route; `route()` guarantees it is there. */
export function principalOf(ctx: AppContext): Principal {
  const principal = ctx.state.principal;
  if (!principal) throw new Error('principalOf() called on an unauthenticated route');
  return principal;
}

export function clientOf(ctx: AppContext) {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}

export function actingOf(ctx: AppContext) {
  return { principal: principalOf(ctx), ip: ctx.ip || null };
}
