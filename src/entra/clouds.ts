import { UsageError } from '../errors.js';
import { quoted } from '../util/echo.js';

export type CloudName = 'global' | 'usgov-high' | 'usgov-dod' | 'china';

export interface Cloud {
  name: CloudName;
  label: string;
  loginHost: string;
  graphHost: string;
}

/** The cloud table of DESIGN.md. GCC (moderate) tenants live in the global cloud. */
export const CLOUDS: Record<CloudName, Cloud> = {
  global: {
    name: 'global',
    label: 'Global (commercial and GCC)',
    loginHost: 'login.microsoftonline.com',
    graphHost: 'graph.microsoft.com',
  },
  'usgov-high': {
    name: 'usgov-high',
    label: 'US Government GCC High',
    loginHost: 'login.microsoftonline.us',
    graphHost: 'graph.microsoft.us',
  },
  'usgov-dod': {
    name: 'usgov-dod',
    label: 'US Government DoD',
    loginHost: 'login.microsoftonline.us',
    graphHost: 'dod-graph.microsoft.us',
  },
  china: {
    name: 'china',
    label: 'China (21Vianet)',
    loginHost: 'login.partner.microsoftonline.cn',
    graphHost: 'microsoftgraph.chinacloudapi.cn',
  },
};

export function parseCloud(value: string): CloudName {
  const name = value.toLowerCase();
  if (name in CLOUDS) return name as CloudName;
  throw new UsageError(`--cloud must be one of ${Object.keys(CLOUDS).join(', ')}; got ${quoted(value)}.`, {
    hint: 'Use --gcc-high (same as --cloud usgov-high) only for a US federal GCC High subscription; GCC (moderate) is global.',
  });
}

export interface Endpoints {
  /** Origin of the sign-in service; the authority is `${login}/${tenant}`. */
  login: string;
  /** Origin of Microsoft Graph; requests go to `${graph}/v1.0/...`. */
  graph: string;
  overridden: boolean;
}

function origin(value: string, variable: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${variable} must be an https:// URL such as https://127.0.0.1:8443; got ${quoted(value)}.`);
  }
  if (url.protocol !== 'https:') {
    throw new UsageError(`${variable} must use https:// (Entra sign-in only works over TLS); got ${quoted(value)}.`, {
      hint: 'Trust a private CA with NODE_EXTRA_CA_CERTS instead of using plain HTTP.',
    });
  }
  return url.origin;
}

/** The hosts for a cloud, with DIRSYNC_LOGIN_ENDPOINT / DIRSYNC_GRAPH_ENDPOINT overriding either. */
export function endpointsFor(cloud: CloudName, env: NodeJS.ProcessEnv): Endpoints {
  const c = CLOUDS[cloud];
  const login = env.DIRSYNC_LOGIN_ENDPOINT;
  const graph = env.DIRSYNC_GRAPH_ENDPOINT;
  return {
    login: login ? origin(login, 'DIRSYNC_LOGIN_ENDPOINT') : `https://${c.loginHost}`,
    graph: graph ? origin(graph, 'DIRSYNC_GRAPH_ENDPOINT') : `https://${c.graphHost}`,
    overridden: Boolean(login || graph),
  };
}

/**
 * The resource identifier of Microsoft Graph in each cloud: the audience of its tokens and the
 * prefix of `.default` scopes. It stays the cloud's own even when DIRSYNC_GRAPH_ENDPOINT moves the host.
 */
export const GRAPH_RESOURCE: Record<CloudName, string> = {
  global: 'https://graph.microsoft.com',
  'usgov-high': 'https://graph.microsoft.us',
  'usgov-dod': 'https://dod-graph.microsoft.us',
  china: 'https://microsoftgraph.chinacloudapi.cn',
};

/** `<graph resource>/.default`: every permission the app registration is configured with. */
export const graphDefaultScope = (cloud: CloudName) => `${GRAPH_RESOURCE[cloud]}/.default`;
