import type { PgCore } from './core.js';

/**
 * Streams a table ordered by a lower-cased name column (then id), a page at a time by keyset, so
 * that `users list` / `groups list` never hold the whole table. `like`: a LIKE pattern on the name.
 */
export async function* keysetPages<R extends { id: string }>(
  core: PgCore,
  table: 'users' | 'groups',
  columns: string,
  nameColumn: 'user_name_lc' | 'display_name_lc',
  like: string | undefined,
  pageSize = 500,
): AsyncIterable<R> {
  let after: { name: string; id: string } | undefined;
  for (;;) {
    const args: unknown[] = [];
    const where: string[] = [];
    if (like !== undefined) {
      args.push(like);
      where.push(`${nameColumn} LIKE $${args.length} ESCAPE '\\'`);
    }
    if (after) {
      args.push(after.name, after.id);
      const n = args.length;
      where.push(
        `(${nameColumn} COLLATE "C" > $${n - 1} OR (${nameColumn} = $${n - 1} AND id COLLATE "C" > $${n}))`,
      );
    }
    const rows = await core.query<R & Record<string, unknown>>(
      `SELECT ${columns} FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${nameColumn} COLLATE "C", id COLLATE "C" LIMIT ${pageSize}`,
      args,
    );
    for (const row of rows) yield row;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { name: last[nameColumn] as string, id: last.id };
  }
}
