import { UsageError } from '../errors.js';
import type { ImportMode, ProfileConfig } from '../config/store.js';
import { isGuid, parseClientId, parseImportMode, parsePublicUrl, parseTenantId, TENANT_ID_HELP, tenantUrl } from '../config/validate.js';
import { CLOUDS, parseCloud, type CloudName } from '../entra/clouds.js';
import { configStore, newPasswordHash, openDirectory, profileFlag, securityCheck } from './common.js';
import { missingValue, type Context } from './context.js';
import { parseDuration } from '../util/duration.js';

export interface ConfigureOptions {
  tenantId?: string;
  gccHigh?: boolean;
  cloud?: string;
  importMode?: string;
  clientId?: string;
  publicUrl?: string;
  consent?: boolean;
  offline?: boolean;
  deviceCode?: boolean;
  timeout?: string;
}

export interface ConfigureResult {
  profile: string;
  changed: boolean;
  changes: { field: string; from: string | null; to: string | null }[];
  tenantId: string;
  cloud: CloudName;
  importMode: ImportMode;
  clientId: string | null;
  publicUrl: string | null;
  tenantUrl: string;
  nextStep: string;
  consent?: unknown;
}

function cloudFromFlags(options: ConfigureOptions): CloudName | undefined {
  const cloud = options.cloud === undefined ? undefined : parseCloud(options.cloud);
  if (options.gccHigh) {
    if (cloud && cloud !== 'usgov-high') {
      throw new UsageError(`--gcc-high means --cloud usgov-high, but --cloud ${cloud} was also given.`, {
        hint: 'Pass only one of them.',
      });
    }
    return 'usgov-high';
  }
  return cloud;
}

const IMPORT_QUESTION =
  'Do you want to sync existing users and groups from Microsoft Entra ID with the users and groups already in the directory?';

export async function run(options: ConfigureOptions, ctx: Context): Promise<ConfigureResult> {
  const store = configStore(ctx);
  const existing = store.profile(ctx.profile);
  const prompt = ctx.interactive;

  // Validate every flag before asking anything, so a typo fails fast.
  if (options.timeout !== undefined) parseDuration(options.timeout, '--timeout');
  let importMode = options.importMode === undefined ? undefined : parseImportMode(options.importMode);
  let tenantId: string | undefined;
  let domain: string | undefined;
  if (options.tenantId !== undefined) {
    const { parseTenantOrDomain } = await import('../entra/discovery.js');
    const parsed = parseTenantOrDomain(options.tenantId);
    tenantId = parsed.tenantId;
    domain = parsed.domain;
    if (domain && options.offline) {
      throw new UsageError(`--offline cannot resolve the domain ${domain} to a tenant ID.`, { hint: 'Pass the tenant ID (a GUID) with --offline, or drop --offline.' });
    }
  }
  let cloud = cloudFromFlags(options);
  let clientId = options.clientId === undefined ? existing.tenant?.clientId : parseClientId(options.clientId);
  const publicUrl = options.publicUrl === undefined ? existing.provisioning?.publicUrl : parsePublicUrl(options.publicUrl);

  // 1. The import question (the portal's "Configure directory sync" window).
  if (!importMode) importMode = existing.provisioning?.importMode;
  if (!importMode && prompt) {
    importMode = await ctx.prompt.select<ImportMode>(IMPORT_QUESTION, [
      {
        name: 'No — import new users and groups only',
        value: 'new-only',
        description: 'Recommended when the directory holds no users or groups that Entra ID should take over.',
      },
      {
        name: 'Yes — also sync existing users and groups',
        value: 'sync-existing',
        description: 'Users and groups already in the directory are matched (user name, group name) and updated by Entra ID.',
      },
    ], 'new-only');
  }
  importMode ??= 'new-only';

  // 2. The tenant ID.
  if (!tenantId && !domain) tenantId = existing.tenant?.tenantId;
  if (!tenantId && !domain) {
    if (!prompt) throw missingValue('The tenant ID', '--tenant-id <GUID>');
    ctx.out.info(`Where to find it: ${TENANT_ID_HELP.replace(/^.*?Copy it from /, '')}`);
    tenantId = parseTenantId(
      await ctx.prompt.input('Microsoft Entra tenant ID:', {
        validate: (v) => isGuid(v) || 'Expected a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47 (Tenant properties → Tenant ID).',
      }),
    );
  }

  // 3. GCC High.
  if (!cloud) cloud = existing.tenant?.cloud;
  if (!cloud && prompt) {
    ctx.out.info(
      'Only US federal customers with a Microsoft Entra GCC High subscription need the GCC High environment. ' +
        'GCC (moderate) and commercial tenants do not.',
    );
    cloud = (await ctx.prompt.confirm('Integrate with the Microsoft Entra GCC High environment?', false))
      ? 'usgov-high'
      : 'global';
  }
  cloud ??= 'global';

  // The app registration to sign in with, when sign-in and consent follow (never asked without a terminal).
  if (!clientId && prompt && options.consent !== false) {
    ctx.out.info(
      'Sign-in and consent use your dirsync app registration: Microsoft Entra admin center → App registrations → ' +
        'your app → Application (client) ID. Leave it empty to sign in later with `dirsync consent`.',
    );
    const answer = await ctx.prompt.input('Application (client) ID:', {
      validate: (v) => v.trim() === '' || isGuid(v) || 'Expected a GUID like 1950a258-227b-4e31-a9cf-717495945fc2, or nothing.',
    });
    if (answer.trim()) clientId = parseClientId(answer);
  }

  // 4. Tenant discovery: the tenant exists, a domain becomes its GUID, the cloud is the right one.
  if (!options.offline) {
    const { discoverTenant } = await import('../entra/discovery.js');
    const found = await discoverTenant((tenantId ?? domain)!, cloud, ctx.env, {
      signal: ctx.signal,
      debug: (line) => ctx.out.debug(line),
      rerun: `dirsync configure --tenant-id ${tenantId ?? domain}${profileFlag(ctx)}`,
    });
    tenantId = found.tenantId;
    domain = found.domain ?? (existing.tenant?.tenantId === found.tenantId ? existing.tenant?.domain : undefined);
  }

  const now = ctx.now().toISOString();
  const next: ProfileConfig = {
    ...existing,
    tenant: {
      ...existing.tenant,
      tenantId: tenantId!,
      cloud,
      clientId,
      domain,
      configuredAt: existing.tenant?.configuredAt ?? now,
      updatedAt: now,
    },
    provisioning: { importMode, publicUrl },
  };
  if (existing.tenant && existing.tenant.tenantId !== tenantId) delete next.consent;

  const changes = diff(existing, next);
  const result = (changed: boolean): ConfigureResult => ({
    profile: ctx.profile,
    changed,
    changes,
    tenantId: tenantId!,
    cloud: cloud!,
    importMode: importMode!,
    clientId: clientId ?? null,
    publicUrl: publicUrl ?? null,
    tenantUrl: tenantUrl(publicUrl),
    nextStep: `dirsync consent${profileFlag(ctx)}`,
  });

  if (existing.tenant && changes.length === 0) {
    ctx.out.success(`Profile "${ctx.profile}" is already configured this way; nothing changed.`);
    return render(ctx, result(false));
  }

  if (existing.tenant) {
    ctx.out.info(`Profile "${ctx.profile}" is already configured. This will change:`);
    for (const c of changes) ctx.out.info(`  ${c.field}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'}`);
  }
  if (existing.security) {
    await securityCheck(ctx, store);
  } else {
    next.security = { passwordHash: await newPasswordHash(ctx), setAt: now, failedAttempts: 0 };
  }

  store.updateProfile(ctx.profile, (fresh) => ({ ...fresh, ...next, security: fresh.security ?? next.security }));
  const directory = await openDirectory(ctx);
  try {
    await directory.audit({ action: existing.tenant ? 'reconfigure' : 'configure', detail: { profile: ctx.profile, changes } }, ctx.now());
  } finally {
    directory.close();
  }
  ctx.out.success(
    `Directory sync is configured for tenant ${tenantId} (${CLOUDS[cloud].label}), profile "${ctx.profile}".`,
  );
  const done = result(true);
  const consentModule = options.consent !== false && clientId ? await import('./consent.js') : undefined;
  const noBrowser = consentModule && !options.deviceCode ? consentModule.browserUnavailable(ctx.env) : undefined;
  if (consentModule && noBrowser) {
    // The configuration is saved; consent needs a browser this machine does not have.
    ctx.out.warn(`Skipping sign-in and consent: a browser cannot be opened here (${noBrowser}).`);
    ctx.out.hint(`Run \`dirsync consent --device-code${profileFlag(ctx)}\` to sign in on another device.`);
  } else if (consentModule) {
    const consent = await consentModule.run(
      { deviceCode: options.deviceCode, timeout: options.timeout },
      ctx,
      { securityChecked: true, discovered: !options.offline, quiet: true },
    );
    done.consent = consent;
    done.nextStep = consent.nextStep;
  }
  return render(ctx, done);
}

function render(ctx: Context, result: ConfigureResult): ConfigureResult {
  ctx.out.result(result, () =>
    ctx.out.keyValues([
      ['Tenant ID', result.tenantId],
      ['Cloud', CLOUDS[result.cloud].label],
      ['Import mode', result.importMode === 'new-only' ? 'new users and groups only' : 'also sync existing users and groups'],
      ['Client ID', result.clientId ?? 'not set (pass --client-id before `dirsync consent`)'],
      ['Tenant URL', result.tenantUrl + (result.publicUrl ? '' : '  (local; set --public-url to the address Entra can reach)')],
    ]),
  );
  ctx.out.hint(
    `Next: sign in and grant consent with \`${result.nextStep}\`, then issue the Secret Code with \`dirsync token renew${profileFlag(ctx)}\`.`,
  );
  return result;
}

function diff(before: ProfileConfig, after: ProfileConfig): ConfigureResult['changes'] {
  const fields: [string, (p: ProfileConfig) => string | undefined][] = [
    ['tenant ID', (p) => p.tenant?.tenantId],
    ['cloud', (p) => p.tenant?.cloud],
    ['client ID', (p) => p.tenant?.clientId],
    ['import mode', (p) => p.provisioning?.importMode],
    ['public URL', (p) => p.provisioning?.publicUrl],
  ];
  return fields
    .map(([field, get]) => ({ field, from: get(before) ?? null, to: get(after) ?? null }))
    .filter((c) => c.from !== c.to);
}
