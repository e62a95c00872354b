import { ExitCode, type ExitCodeValue } from '../errors.js';
import { configStore } from './common.js';
import { openGraph } from './graph.js';
import type { Context } from './context.js';
import { quoted } from '../util/echo.js';

export interface EntraListOptions {
  filter?: string;
}

/** The JSON of one Entra group: the same keys as the local list (groupJson in groups.ts). */
export const entraGroupJson = (g: { id: string; displayName: string }) => ({
  name: g.displayName,
  id: g.id,
  updatedBy: 'Microsoft Entra ID' as const,
  // Graph does not give member counts or modification times in a list without one request per group.
  members: null,
  updatedAt: null,
});

/**
 * `dirsync groups list --source entra`: the tenant's groups from Microsoft Graph, streamed as they
 * arrive (never buffered). Credentials: AZURE_* app-only variables when set (CI), else the admin's
 * cached sign-in from `dirsync consent`.
 */
export async function listFromEntra(options: EntraListOptions, ctx: Context): Promise<ExitCodeValue> {
  const profile = configStore(ctx).profile(ctx.profile);
  const { graph } = await openGraph(ctx, profile);
  // Fetch the first page before writing anything, so a sign-in error never leaves half a JSON array.
  const pages = graph.groupPages({ filter: options.filter });
  const first = await pages.next();
  const rows = flatten(first.done ? [] : first.value, pages);
  const count = await ctx.out.streamRows(
    rows,
    [
      { header: 'NAME', value: (g) => g.displayName },
      { header: 'GUID', value: (g) => g.id },
    ],
    entraGroupJson,
  );
  ctx.out.debug(`${count} group(s) from Microsoft Graph`);
  if (count === 0) ctx.out.info(options.filter ? `No group name in Microsoft Entra contains ${quoted(options.filter)}.` : 'The tenant has no groups.');
  return ExitCode.ok;
}

/**
 * Rows of pages as one async iterable — a plain iterator rather than a nested async generator, since
 * 100k rows pay its per-row cost 100k times.
 */
function flatten<T>(firstPage: T[], rest: AsyncIterator<T[]>): AsyncIterable<T> {
  let page = firstPage;
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<T>> {
        while (i >= page.length) {
          const r = await rest.next();
          if (r.done) return { done: true, value: undefined };
          page = r.value;
          i = 0;
        }
        return { done: false, value: page[i++]! };
      },
      async return(): Promise<IteratorResult<T>> {
        await rest.return?.(undefined);
        return { done: true, value: undefined };
      },
    }),
  };
}
