import { UsageError } from '../errors.js';
import { quoted } from '../util/echo.js';
import { isGuid } from '../config/validate.js';

// Kept apart from signin.ts (which loads msal-node) so that `dirsync status` can say which
// credential Graph commands would use without loading msal.

/** The CI credential named by AZURE_* variables (validated; nothing read from disk yet). */
export interface AppCredential {
  clientId: string;
  tenantId?: string;
  kind: 'secret' | 'certificate' | 'federated';
  /** The variable that holds the credential, for messages. */
  variable: 'AZURE_CLIENT_SECRET' | 'AZURE_CLIENT_CERTIFICATE_PATH' | 'AZURE_FEDERATED_TOKEN_FILE';
}

export function appCredentialFromEnv(env: NodeJS.ProcessEnv): AppCredential | undefined {
  const clientId = env.AZURE_CLIENT_ID?.trim();
  if (!clientId) return undefined;
  const variable = env.AZURE_CLIENT_SECRET
    ? 'AZURE_CLIENT_SECRET'
    : env.AZURE_CLIENT_CERTIFICATE_PATH
      ? 'AZURE_CLIENT_CERTIFICATE_PATH'
      : env.AZURE_FEDERATED_TOKEN_FILE
        ? 'AZURE_FEDERATED_TOKEN_FILE'
        : undefined;
  if (!variable) return undefined;
  if (!isGuid(clientId)) {
    throw new UsageError(`AZURE_CLIENT_ID is not a client ID (a GUID); got ${quoted(clientId)}.`, {
      hint: 'Set AZURE_CLIENT_ID to the Application (client) ID of the app registration used by CI.',
    });
  }
  const tenantId = env.AZURE_TENANT_ID?.trim();
  if (tenantId && !isGuid(tenantId)) {
    throw new UsageError(`AZURE_TENANT_ID is not a tenant ID (a GUID); got ${quoted(tenantId)}.`, {
      hint: 'Set AZURE_TENANT_ID to the Directory (tenant) ID, or unset it to use the configured tenant.',
    });
  }
  const kind = variable === 'AZURE_CLIENT_SECRET' ? 'secret' : variable === 'AZURE_CLIENT_CERTIFICATE_PATH' ? 'certificate' : 'federated';
  return { clientId: clientId.toLowerCase(), tenantId: tenantId?.toLowerCase(), kind, variable };
}

