/** The embedded SQLite directory store; its parts, one per concern, are in ./sqlite/. */
export { openSqliteDirectory, SqliteDirectory, sqliteSchemaVersion } from './sqlite/directory.js';
