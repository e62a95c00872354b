// Preloaded with `node --import ./test/support/maxrss.mjs …`: when the process exits, appends its
// peak resident memory (KiB, from getrusage) to the file named by DIRSYNC_TEST_MAXRSS_FILE.
import fs from 'node:fs';

const file = process.env.DIRSYNC_TEST_MAXRSS_FILE;
if (file) process.on('exit', () => fs.appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
