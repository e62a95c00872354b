/** The embedded SQLite directory store; its parts, one per concern, are in ./sqlite/. */
export { openSqliteDirectory, SqliteDirectory } from './sqlite/directory.js';
