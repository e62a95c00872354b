import fs from 'node:fs';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { echo, quoted } from '../util/echo.js';
import { parseAdminCsv } from '../directory/csv.js';
import type { AdminImportResult } from '../directory/store.js';
import { configStore, openDirectory, requireProvisioning, securityCheck } from './common.js';
import type { Context } from './context.js';

export interface ImportOptions {
  /** The CSV file (the command's argument). */
  file: string;
}

export interface ImportResultJson extends AdminImportResult {
  file: string;
}

/**
 * `dirsync directory import FILE.csv`: adds users and groups as an administrator ("Updated by:
 * Administrator") after the security check. All or nothing: one transaction. Existing names are
 * skipped and listed.
 */
export async function importCsv(options: ImportOptions, ctx: Context): Promise<ExitCodeValue> {
  let text: string;
  try {
    text = fs.readFileSync(options.file, 'utf8');
  } catch (error) {
    throw new UsageError(`${quoted(options.file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? echo((error as Error).message)}).`, {
      hint: 'Pass the path of a CSV file, e.g. dirsync directory import ./people.csv',
    });
  }
  const rows = parseAdminCsv(text, options.file);
  // The directory changes: the security check, as for every such command (after the file was read,
  // so a typo in it fails before the password is asked).
  const store = configStore(ctx);
  requireProvisioning(ctx, store.profile(ctx.profile));
  await securityCheck(ctx, store);
  const directory = await openDirectory(ctx);
  let result: AdminImportResult;
  try {
    result = await directory.importAdminObjects(rows, ctx.now());
  } finally {
    directory.close();
  }
  const json: ImportResultJson = { file: options.file, ...result };
  ctx.out.result(json, () => {
    const lines = [`Imported ${result.users} user${result.users === 1 ? '' : 's'} and ${result.groups} group${result.groups === 1 ? '' : 's'} (${result.memberships} membership${result.memberships === 1 ? '' : 's'}) from ${options.file}.`];
    for (const s of result.skipped) lines.push(`  skipped line ${s.line} (${s.name}): ${s.reason}`);
    return lines.join('\n');
  });
  if (result.skipped.length) {
    ctx.out.warn(`${result.skipped.length} entr${result.skipped.length === 1 ? 'y was' : 'ies were'} skipped (listed above).`);
  }
  return ExitCode.ok;
}
