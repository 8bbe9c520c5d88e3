import type { Middleware } from 'koa';
import type { AppContext, AppState } from '../http/context.ts';
import { principalOf } from '../http/context.ts';
import { rateLimitHeaders, type LimitName, type RateLimits } from './rate-limits.ts';

/** Counts `points` of `name` for the request's principal (429 past the limit) and says where it stands in RateLimit-* headers. */
export async function countRequest(ctx: AppContext, limits: Pick<RateLimits, 'take'>, name: LimitName, points = 1): Promise<void> {
  ctx.set(rateLimitHeaders(await limits.take(principalOf(ctx), name, points)));
}

/** The same, as middleware for routes declared outside `route()` (the OpenAI-compatible API); after authentication. */
export function limited(limits: Pick<RateLimits, 'take'>, name: LimitName): Middleware<AppState> {
  return async (ctx, next) => {
    await countRequest(ctx as AppContext, limits, name);
    await next();
  };
}
