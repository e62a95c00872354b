import type { ProfileConfig } from '../config/store.js';
import type { GraphClient } from '../entra/graph.js';
import type { Context } from './context.js';

/**
 * Microsoft Graph for this profile, with the credential `status` describes: AZURE_* app-only
 * variables when set (CI), else the admin's cached sign-in from `dirsync consent`. msal-node, the
 * graph client and undici load here, only for the commands that call Graph.
 */
export async function openGraph(ctx: Context, profile: ProfileConfig): Promise<{ graph: GraphClient; credential: string; appOnly: boolean }> {
  const [{ graphTokenSource }, { GraphClient }, { createHttpClient }, { endpointsFor }] = await Promise.all([
    import('../entra/signin.js'),
    import('../entra/graph.js'),
    import('../entra/http.js'),
    import('../entra/clouds.js'),
  ]);
  const debug = (line: string) => ctx.out.debug(line);
  const http = createHttpClient(ctx.env, { debug });
  const { source, cloud } = graphTokenSource({
    tenant: profile.tenant,
    env: ctx.env,
    cachePath: ctx.paths.signInCache,
    signal: ctx.signal,
    debug,
    warn: (line) => ctx.out.warn(line),
    http,
  });
  let token: Promise<string> | undefined;
  const graph = new GraphClient({
    baseUrl: endpointsFor(cloud, ctx.env).graph,
    http,
    getToken: (force) => {
      if (force || !token) {
        token = source.getToken();
        token.catch(() => (token = undefined));
      }
      return token;
    },
    signal: ctx.signal,
    debug,
  });
  return { graph, credential: source.describe, appOnly: source.appOnly };
}
