import fs from 'node:fs';
import { ExitCode, type ExitCodeValue, UsageError } from '../errors.js';
import { echo, quoted } from '../util/echo.js';
import type { ImportMode } from '../directory/store.js';
import { parsePublicUrl } from '../config/validate.js';
import { isRecordValid } from '../secrets/code.js';
import { closeDirectory, configStore, openDirectory, profileFlag, requireProvisioning } from './common.js';
import type { Context } from './context.js';

export interface ServeOptions {
  host?: string;
  port?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  maxBodySize?: string;
}

export interface ServeStartedJson {
  url: string;
  tenantUrl: string;
  host: string;
  port: number;
  tls: boolean;
  importMode: ImportMode;
}

const IMPORT_MODE_TTL_MS = 5_000;

function parsePort(value: string | undefined): number {
  if (value === undefined) return 8080;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65535) {
    throw new UsageError(`--port must be a port number from 0 to 65535; got ${quoted(value)}.`, {
      hint: 'e.g. --port 8443 (0 picks a free port and prints it).',
    });
  }
  return port;
}

function parseSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(value.trim());
  const unit = (m?.[2] ?? 'b').toLowerCase();
  const bytes = m ? Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1024) {
    throw new UsageError(`--max-body-size must be a size of at least 1 KiB, e.g. 1MiB or 512k; got ${quoted(value)}.`);
  }
  return bytes;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new UsageError(`${flag} ${quoted(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? echo((error as Error).message)}).`, {
      hint: `Pass a PEM file readable by this user, e.g. ${flag} /etc/dirsync/tls.pem`,
    });
  }
}

/**
 * `dirsync serve`: the Tenant URL. Runs until Ctrl-C / SIGTERM (ctx.signal), then stops accepting,
 * lets in-flight requests finish, and closes the database.
 */
export async function run(options: ServeOptions, ctx: Context): Promise<ExitCodeValue> {
  const host = options.host ?? '127.0.0.1';
  const port = parsePort(options.port);
  const maxBodyBytes = parseSize(options.maxBodySize);
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
    throw new UsageError('--tls-cert and --tls-key go together.', {
      hint: 'Pass both (a PEM certificate chain and its private key), or neither to serve plain HTTP behind a TLS proxy.',
    });
  }
  const tls = options.tlsCert && options.tlsKey
    ? { cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') }
    : undefined;

  const config = configStore(ctx);
  // Provisioning settings survive `unconfigure`: Entra keeps provisioning while the Secret Code is valid.
  const provisioning = requireProvisioning(ctx, config.profile(ctx.profile));
  const publicUrl = options.publicUrl === undefined ? provisioning.publicUrl : parsePublicUrl(options.publicUrl);

  // `configure --import-mode` while serving takes effect within a few seconds, without a restart.
  let mode: ImportMode = provisioning.importMode;
  let modeReadAt = Date.now();
  const importMode = (): ImportMode => {
    if (Date.now() - modeReadAt > IMPORT_MODE_TTL_MS) {
      modeReadAt = Date.now();
      try {
        mode = config.profile(ctx.profile).provisioning?.importMode ?? mode;
      } catch (error) {
        ctx.out.warn(`Could not re-read ${ctx.paths.configFile} (${(error as Error).message}); keeping import mode ${mode}.`);
      }
    }
    return mode;
  };

  const directory = await openDirectory(ctx);
  let server: Awaited<ReturnType<typeof import('../scim/server.js').startScimServer>> | undefined;
  // WAL checkpoints in a worker thread, so that no request waits for one (they took 45–65 ms).
  // (PostgreSQL checkpoints on its own.)
  const checkpoints =
    directory.backend === 'sqlite'
      ? await directory.checkpointInBackground({ onError: (message) => ctx.out.warn(message) })
      : { stop: async () => {} };
  try {
    const current = await directory.currentSecretCode();
    if (!current || !isRecordValid(current, ctx.now()).valid) {
      ctx.out.warn('There is no valid Secret Code: every SCIM request will get 401 until one is issued.');
      ctx.out.hint(`Run \`dirsync token renew${profileFlag(ctx)}\` and paste the code into Entra as the Secret Token.`);
    }
    const { startScimServer } = await import('../scim/server.js');
    try {
      server = await startScimServer({
        store: directory,
        importMode,
        host,
        port,
        tls,
        publicUrl,
        maxBodyBytes,
        now: ctx.now,
        log: (line) => ctx.out.log(`${new Date().toISOString()} ${line}`),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EINVAL') {
        throw new UsageError(`Cannot listen on ${echo(host)}:${port} (${code}).`, {
          hint:
            code === 'EADDRINUSE'
              ? 'Another process uses that port (another `dirsync serve`?). Pass --port with a free port.'
              : 'Pass a --host this machine has and a --port above 1023 (or run with the needed privileges).',
        });
      }
      throw error;
    }
    const started: ServeStartedJson = { url: server.url, tenantUrl: server.tenantUrl, host, port: server.port, tls: Boolean(tls), importMode: mode };
    ctx.out.result(started, () => '');
    ctx.out.success(`Serving SCIM 2.0 on ${server.url} (import mode ${mode}).`);
    ctx.out.info(`Tenant URL for Entra: ${server.tenantUrl}`);
    if (!tls) {
      ctx.out.warn('Plain HTTP: Entra requires an HTTPS Tenant URL.');
      ctx.out.hint(
        'Put a TLS-terminating reverse proxy in front and pass --public-url https://…, or serve HTTPS here with --tls-cert FILE --tls-key FILE.',
      );
    }
    ctx.out.info('Press Ctrl-C to stop.');

    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      if (ctx.signal.aborted) return resolve();
      // main routes Ctrl-C and SIGTERM into ctx.signal.
      ctx.signal.addEventListener('abort', stop, { once: true });
    });
    ctx.out.info('Stopping: finishing in-flight requests…');
    await server.close();
    server = undefined;
    ctx.out.success('Stopped.');
    return ExitCode.ok;
  } finally {
    await server?.close();
    await checkpoints.stop();
    await closeDirectory(directory);
  }
}
