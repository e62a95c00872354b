import fs from 'node:fs';
import { ExitCode, OperationError, type ExitCodeValue } from '../errors.js';
import { configStore, confirmOrYes, openDirectory, profileFlag, requireTenant, securityCheck } from './common.js';
import type { Context } from './context.js';

/**
 * Removes the tenant integration (tenant ID, cloud, client ID, consent, cached sign-in) and keeps the
 * directory, the Secret Code and the admin password: Entra's provisioning keeps working until it is
 * disabled in Entra, as the reference procedure says.
 */
export async function run(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const store = configStore(ctx);
  const tenant = requireTenant(ctx, store.profile(ctx.profile));
  await securityCheck(ctx, store);
  ctx.out.info(`This removes the Microsoft Entra integration of profile "${ctx.profile}" (tenant ${tenant.tenantId}).`);
  if (!(await confirmOrYes(ctx, 'Unconfigure directory sync?'))) {
    throw new OperationError('Cancelled: nothing was changed.');
  }
  store.updateProfile(ctx.profile, (p) => {
    const { tenant: _t, consent: _c, provisioningJob: _j, ...rest } = p;
    return rest;
  });
  fs.rmSync(ctx.paths.signInCache, { force: true });
  const directory = await openDirectory(ctx);
  try {
    await directory.audit({ action: 'unconfigure', detail: { profile: ctx.profile, tenantId: tenant.tenantId } }, ctx.now());
  } finally {
    directory.close();
  }
  ctx.out.result({ profile: ctx.profile, unconfigured: true, tenantId: tenant.tenantId }, () => '');
  ctx.out.success(`Directory sync with tenant ${tenant.tenantId} is unconfigured.`);
  ctx.out.info(
    [
      'What this means:',
      '  • Microsoft Entra ID groups can no longer be added to the directory through dirsync.',
      '  • Disable the user provisioning application in Microsoft Entra to stop receiving updates from Entra ID.',
      '  • Users and groups already synced stay active until they are deactivated through Entra\'s user provisioning.',
      '  • The directory and the Secret Code are kept: provisioning keeps working until you disable it in Entra.',
    ].join('\n'),
  );
  ctx.out.hint(`To stop provisioning at once, revoke the Secret Code: \`dirsync token revoke${profileFlag(ctx)}\`.`);
  return ExitCode.ok;
}
