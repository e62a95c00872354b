import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, record } from './cli.js';

/** `dirsync serve --port 0 --json` as a child process; resolves once it printed where it listens. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  tenantUrl: string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startServe(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code) => {
        record(['serve', ...args], { stdout, stderr });
        r(code);
      }),
    );
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      try {
        const started = JSON.parse(stdout);
        resolve({
          child,
          url: started.url,
          tenantUrl: started.url + '/scim/v2',
          stderr: () => stderr,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      } catch {
        // not the whole document yet
      }
    });
    exited.then((code) => reject(new Error(`dirsync serve exited ${code} before it listened:\n${stderr}`)));
  });
}
