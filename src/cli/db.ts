import { ExitCode, type ExitCodeValue } from '../errors.js';
import { closeDirectory, databaseUrl, openDirectory } from './common.js';
import type { Context } from './context.js';

/** What `dirsync db status --json` prints. */
export interface DbStatusJson {
  backend: 'sqlite' | 'postgres';
  /** How many migrations the database has had (0: none yet). */
  schemaVersion: number;
  /** The version this dirsync writes; `db migrate` brings the database there. */
  latestSchemaVersion: number;
  /** The SQLite file, or the PostgreSQL URL without its password. */
  location: string;
}

async function describe(ctx: Context): Promise<DbStatusJson> {
  const url = databaseUrl(ctx);
  if (url) {
    const { PgCore } = await import('../directory/postgres/core.js');
    const { pgMigrations } = await import('../directory/postgres/schema.js');
    const core = new PgCore(url, { max: 1 });
    try {
      return { backend: 'postgres', schemaVersion: await core.schemaVersion(), latestSchemaVersion: pgMigrations.length, location: core.location };
    } finally {
      await core.close().catch(() => {});
    }
  }
  const { sqliteSchemaVersion } = await import('../directory/sqlite.js');
  const { migrations } = await import('../directory/migrations.js');
  const file = ctx.paths.directoryDb;
  return { backend: 'sqlite', schemaVersion: sqliteSchemaVersion(file), latestSchemaVersion: migrations.length, location: file };
}

const render = (s: DbStatusJson) =>
  [
    `Backend:         ${s.backend === 'postgres' ? 'PostgreSQL' : 'SQLite'}`,
    `Location:        ${s.location}`,
    `Schema version:  ${s.schemaVersion}${s.schemaVersion === s.latestSchemaVersion ? ' (current)' : ` (this dirsync writes ${s.latestSchemaVersion}; run \`dirsync db migrate\`)`}`,
  ].join('\n');

/** `dirsync db status`: which database holds the directory, and its schema version. */
export async function status(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const s = await describe(ctx);
  ctx.out.result(s, () => render(s));
  return ExitCode.ok;
}

/** `dirsync db migrate`: creates or upgrades the schema now (every command does it on first use). */
export async function migrate(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const directory = await openDirectory(ctx);
  await closeDirectory(directory);
  const s = await describe(ctx);
  ctx.out.result(s, () => render(s));
  ctx.out.success(`The directory schema is at version ${s.schemaVersion}.`);
  return ExitCode.ok;
}
