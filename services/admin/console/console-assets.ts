// The operator console: static files (HTML, CSS, JavaScript modules) under /console/, registered beside the admin
// API when the admin service runs. The files carry no data and need no token; the page asks the admin API for
// everything with the token the person types, held in the page's memory only (docs/console.md).
//
// Every answer carries a Content-Security-Policy that allows scripts, styles and requests from this origin only
// and no inline script or style, so a string that slipped past the page's escaping still could not run. The files
// are read once at registration: a fixed list, so no request path ever reaches the file system.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { projectPath } from '../../platform/project-files.js';

export const CONSOLE_PREFIX = '/console';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

/** The console's files, by the name they are served under. */
const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'chart.js': 'text/javascript; charset=utf-8',
  'blocks-view.js': 'text/javascript; charset=utf-8',
  'tenant-view.js': 'text/javascript; charset=utf-8',
  'tenant-block.js': 'text/javascript; charset=utf-8',
  'tenant-config.js': 'text/javascript; charset=utf-8',
  'tenant-policy.js': 'text/javascript; charset=utf-8',
  'tenant-history.js': 'text/javascript; charset=utf-8',
  'tenant-unblock.js': 'text/javascript; charset=utf-8',
};

export const CONSOLE_DIRECTORY = projectPath('services', 'admin', 'console', 'static');

export async function consoleAssets(app: FastifyInstance): Promise<void> {
  const files = new Map(
    await Promise.all(
      Object.entries(FILES).map(
        async ([name, type]) =>
          [name, { type, body: await readFile(`${CONSOLE_DIRECTORY}/${name}`) }] as const,
      ),
    ),
  );
  const serve = (name: string, reply: FastifyReply) => {
    const file = files.get(name);
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache');
    if (file === undefined)
      return reply.code(404).type('text/plain; charset=utf-8').send('no such console file\n');
    return reply.type(file.type).send(file.body);
  };
  const hidden = { schema: { hide: true } };
  // The page's relative links (console.css, app.js) resolve under /console/ only.
  app.get(CONSOLE_PREFIX, hidden, async (_request, reply) => reply.redirect(`${CONSOLE_PREFIX}/`));
  app.get(`${CONSOLE_PREFIX}/`, hidden, async (_request, reply) => serve('index.html', reply));
  app.get<{ Params: { file: string } }>(`${CONSOLE_PREFIX}/:file`, hidden, async (request, reply) =>
    serve(request.params.file, reply),
  );
}
