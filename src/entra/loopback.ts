import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The loopback listener for the browser flow (RFC 8252): bound to 127.0.0.1 only, on a random free
 * port, for one sign-in. It accepts Entra's answers in both shapes dirsync uses — a GET query
 * (the /adminconsent endpoint) and a form POST (authorize with response_mode=form_post) — and only
 * settles for an answer carrying exactly the `state` it waits for. Anything else (a favicon, a second
 * tab, a forged or replayed `state`) gets a harmless page and changes nothing.
 *
 * Unlike msal's own listener it can time out and be cancelled, and it lets dirsync answer the browser
 * after the sign-in has been verified, with a page that says what happened.
 */
export interface Callback {
  params: URLSearchParams;
  /** Answers the browser with an HTML page. */
  respond(html: string, status?: number): void;
  /** Sends the browser on to the next step (e.g. the sign-in after admin consent). */
  redirect(url: string): void;
}

const MAX_BODY = 64 * 1024;

export class Loopback {
  private waiting?: { state: string; resolve: (cb: Callback) => void };
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly debug?: (line: string) => void,
  ) {}

  /** Starts listening on 127.0.0.1 (random port). */
  static async start(debug?: (line: string) => void): Promise<Loopback> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const loopback = new Loopback(server, (server.address() as AddressInfo).port, debug);
    server.on('request', (req, res) => loopback.handle(req, res));
    debug?.(`loopback listener on http://127.0.0.1:${loopback.port}`);
    return loopback;
  }

  /** The redirect URI to send: `http://localhost:PORT` (what "Mobile and desktop" registrations list). */
  get redirectUri(): string {
    return `http://localhost:${this.port}`;
  }

  /** Resolves with the first answer that carries `state`; earlier waits are replaced. */
  expect(state: string): Promise<Callback> {
    return new Promise((resolve) => {
      this.waiting = { state, resolve };
    });
  }

  close(): void {
    this.waiting = undefined;
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (url.pathname !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    if (method === 'GET') {
      this.dispatch(url.searchParams, res);
      return;
    }
    if (method !== 'POST') {
      res.writeHead(405, { Allow: 'GET, POST' }).end();
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      res.writeHead(415).end();
      return;
    }
    let body = '';
    let tooBig = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) {
        tooBig = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (!tooBig) this.dispatch(new URLSearchParams(body), res);
    });
    req.on('error', () => res.destroy());
  }

  private dispatch(params: URLSearchParams, res: http.ServerResponse): void {
    const isAnswer = params.has('code') || params.has('error') || params.has('admin_consent');
    if (!isAnswer) {
      page(res, 200, waitingPage());
      return;
    }
    const states = params.getAll('state');
    const waiting = this.waiting;
    if (!waiting || states.length !== 1 || states[0] !== waiting.state) {
      this.debug?.('loopback: ignored an answer whose state does not match this sign-in');
      page(res, 400, strayPage());
      return;
    }
    this.waiting = undefined;
    let answered = false;
    waiting.resolve({
      params,
      respond: (html, status = 200) => {
        if (answered) return;
        answered = true;
        page(res, status, html);
      },
      redirect: (location) => {
        if (answered) return;
        answered = true;
        res.writeHead(302, { Location: location, 'Content-Length': '0' }).end();
      },
    });
  }
}

function page(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(html);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE =
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}' +
  'h1{font-size:1.4rem}.ok{color:#107c10}.bad{color:#a4262c}code,.ids{font-family:ui-monospace,monospace;font-size:.9rem}' +
  '.ids{background:#f3f2f1;padding:.75rem;border-radius:4px;white-space:pre-wrap}';

export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — dirsync</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function waitingPage(): string {
  return htmlPage('dirsync sign-in', '<h1>dirsync is waiting for Microsoft Entra</h1><p>Finish signing in in the other tab.</p>');
}

function strayPage(): string {
  return htmlPage(
    'Not this sign-in',
    '<h1 class="bad">This answer does not belong to the sign-in dirsync started</h1>' +
      '<p>It was ignored. If you opened the sign-in link twice, finish the sign-in in the most recent tab, or run the command again.</p>',
  );
}
