import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { GroupSummary } from '../directory/store.js';
import { formatDay } from '../util/dates.js';
import { profileFlag, streamFromDirectory } from './common.js';
import type { Context } from './context.js';
import { quoted } from '../util/echo.js';

export interface ListOptions {
  filter?: string;
}

export const groupJson = (g: GroupSummary) => ({
  name: g.name,
  id: g.externalId ?? g.id,
  updatedBy: g.updatedBy,
  members: g.members,
  updatedAt: g.updatedAt,
});

/** `dirsync groups list`: the groups in the local directory, streamed. */
export async function list(options: ListOptions, ctx: Context): Promise<ExitCodeValue> {
  const s = ctx.out.resultStyle;
  const count = await streamFromDirectory(
    ctx,
    (directory) => directory.listGroups({ filter: options.filter }),
    [
      { header: 'NAME', value: (g) => g.name },
      { header: 'GUID', value: (g) => g.externalId ?? g.id },
      {
        header: 'UPDATED BY',
        value: (g) => g.updatedBy,
        paint: (g, cell) => (g.updatedBy === 'Microsoft Entra ID' ? s.cyan(cell) : cell),
      },
      { header: 'MEMBERS', value: (g) => String(g.members) },
      { header: 'UPDATED', value: (g) => formatDay(new Date(g.updatedAt)) },
    ],
    groupJson,
  );
  if (count === 0) {
    ctx.out.info(options.filter ? `No group name contains ${quoted(options.filter)}.` : 'No groups yet.');
    if (!options.filter) {
      ctx.out.hint(
        "Groups arrive from Microsoft Entra ID's user provisioning: run `dirsync serve`, then enter the Tenant URL and " +
          `Secret Code (\`dirsync token renew${profileFlag(ctx)}\`) in Entra and start provisioning.`,
      );
    }
  }
  return ExitCode.ok;
}
