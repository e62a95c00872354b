import fs from 'node:fs';
import os from 'node:os';
import { OperationError } from '../errors.js';
import type { ProfileConfig } from '../config/store.js';
import { Redactor } from '../util/redact.js';
import type { DoctorReport } from './types.js';

/**
 * The support bundle of `dirsync doctor --bundle FILE`: doctor's checks, versions, the profile's
 * non-secret configuration, the recorded failures with their trace and correlation IDs. Built from
 * an allow-list (never the raw profile), then passed through the redactor, written with mode 0600.
 */
export interface BundleInput {
  version: string;
  profileName: string;
  configDir: string;
  profile: ProfileConfig;
  env: NodeJS.ProcessEnv;
  now: Date;
  report: DoctorReport;
}

/** Variables that decide where dirsync connects; secrets among them are only said to be set. */
const ENV_SHOWN = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'DIRSYNC_LOGIN_ENDPOINT', 'DIRSYNC_GRAPH_ENDPOINT', 'DIRSYNC_PROFILE', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE'];
const ENV_SET_ONLY = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'DIRSYNC_ADMIN_PASSWORD', 'DIRSYNC_DATABASE_URL'];

/** user:password@ in a proxy URL. */
const withoutCredentials = (value: string) => value.replace(/\/\/[^@/]*@/, '//***@');

export function buildBundle(input: BundleInput): Record<string, unknown> {
  const p = input.profile;
  const environment: Record<string, string> = {};
  for (const name of ENV_SHOWN) if (input.env[name]) environment[name] = withoutCredentials(input.env[name]!);
  for (const name of ENV_SET_ONLY) if (input.env[name]) environment[name] = '(set)';
  return {
    kind: 'dirsync support bundle',
    createdAt: input.now.toISOString(),
    versions: { dirsync: input.version, node: process.version, os: `${os.type()} ${os.release()} (${process.platform} ${process.arch})` },
    profile: input.profileName,
    configDir: input.configDir,
    config: {
      tenant: p.tenant ?? null,
      consent: p.consent ?? null,
      provisioning: p.provisioning ?? null,
      provisioningJob: p.provisioningJob ?? null,
      securityCheck: p.security
        ? { passwordSet: true, setAt: p.security.setAt, failedAttempts: p.security.failedAttempts, lockedUntil: p.security.lockedUntil ?? null }
        : null,
    },
    failures: p.lastFailure ? [{ kind: 'consent or sign-in', ...p.lastFailure }] : [],
    environment,
    doctor: input.report,
    serveLog: {
      included: false,
      why: 'dirsync serve writes its request log to stderr and has no log file setting; attach the last lines from where your service manager keeps it (e.g. journalctl -u dirsync -n 200).',
    },
  };
}

/** Writes the bundle, redacted, readable by this user only (0600, also when FILE existed). */
export function writeBundle(file: string, bundle: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const redactor = new Redactor();
  for (const name of ENV_SET_ONLY) redactor.add(env[name]);
  const text = `${redactor.redact(JSON.stringify(bundle, null, 2))}\n`;
  try {
    const fd = fs.openSync(file, 'w', 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeFileSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw new OperationError(`The support bundle cannot be written to ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {
      hint: 'Choose a path in a directory you can write to, e.g. --bundle ./dirsync-bundle.json.',
      cause: error,
    });
  }
}
