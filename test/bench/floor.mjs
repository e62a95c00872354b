// The start-up floor of `dirsync token status` (used by startup.mjs): a script that only loads the
// libraries that command is built on — commander, conf, chalk, date-fns, better-sqlite3 — and
// opens the directory database, and does nothing else. Each library is loaded the cheapest way a
// program can load it (commander and better-sqlite3 with require, date-fns by the functions used,
// not its 250-module index), so the floor is not inflated.
//   node test/bench/floor.mjs <directory.db>
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('commander');
await import('conf');
await import('chalk');
await Promise.all([import('date-fns/format'), import('date-fns/addMonths'), import('date-fns/differenceInCalendarDays')]);
const Database = require('better-sqlite3');
const db = new Database(process.argv[2], { fileMustExist: true });
db.prepare('SELECT count(*) FROM sqlite_master').get();
db.close();
