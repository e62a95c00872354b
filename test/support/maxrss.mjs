// Preloaded with `node --import ./test/support/maxrss.mjs …`: when the process exits, appends its
// peak resident memory (KiB, from getrusage) to the file named by DIRSYNC_TEST_MAXRSS_FILE, and
// its CPU time (user + system, µs) to the file named by DIRSYNC_TEST_CPU_FILE.
import fs from 'node:fs';

const file = process.env.DIRSYNC_TEST_MAXRSS_FILE;
const cpuFile = process.env.DIRSYNC_TEST_CPU_FILE;
process.on('exit', () => {
  const usage = process.resourceUsage();
  if (file) fs.appendFileSync(file, `${usage.maxRSS}\n`);
  if (cpuFile) fs.appendFileSync(cpuFile, `${usage.userCPUTime + usage.systemCPUTime}\n`);
});
