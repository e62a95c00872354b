import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { UserSummary } from '../directory/store.js';
import { formatDay } from '../util/dates.js';
import { profileFlag, streamFromDirectory } from './common.js';
import type { Context } from './context.js';
import { quoted } from '../util/echo.js';

export interface ListOptions {
  filter?: string;
}

export const userJson = (u: UserSummary) => ({
  userName: u.userName,
  displayName: u.displayName,
  id: u.externalId ?? u.id,
  active: u.active,
  updatedBy: u.updatedBy,
  updatedAt: u.updatedAt,
});

/** `dirsync users list`: the users in the local directory, streamed (flat memory on 100k rows). */
export async function list(options: ListOptions, ctx: Context): Promise<ExitCodeValue> {
  const s = ctx.out.resultStyle;
  const count = await streamFromDirectory(
    ctx,
    (directory) => directory.listUsers({ filter: options.filter }),
    [
      { header: 'USER NAME', value: (u) => u.userName },
      { header: 'DISPLAY NAME', value: (u) => u.displayName ?? '' },
      { header: 'GUID', value: (u) => u.externalId ?? u.id },
      {
        header: 'STATUS',
        value: (u) => (u.active ? 'active' : 'inactive'),
        paint: (u, cell) => (u.active ? cell : s.dim(cell)),
      },
      {
        header: 'UPDATED BY',
        value: (u) => u.updatedBy,
        paint: (u, cell) => (u.updatedBy === 'Microsoft Entra ID' ? s.cyan(cell) : cell),
      },
      { header: 'UPDATED', value: (u) => formatDay(new Date(u.updatedAt)) },
    ],
    userJson,
  );
  if (count === 0) {
    ctx.out.info(options.filter ? `No user name contains ${quoted(options.filter)}.` : 'No users yet.');
    if (!options.filter) {
      ctx.out.hint(
        "Users arrive from Microsoft Entra ID's user provisioning (`dirsync serve`, then the Tenant URL and Secret Code " +
          `from \`dirsync token renew${profileFlag(ctx)}\` in Entra), or from \`dirsync directory import FILE.csv\`.`,
      );
    }
  }
  return ExitCode.ok;
}
