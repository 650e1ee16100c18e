import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import { CaError } from '../src/domain/ca-error.ts';

/**
 * The admin console's Content-Security-Policy: its own scripts, styles and API only. No inline
 * script or style, no eval, nothing from elsewhere, not framed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /console/…: the console's built files (api/console, built by `npm run build` into the build's
 * console/ directory). Assets have content-hashed names and are cached for a year; index.html is
 * revalidated every time. Without a build (the service run from its TypeScript sources) /console
 * answers 404 console_not_built.
 */
export function consoleFiles(dir: string | undefined): RequestHandler {
  const built = !!dir && existsSync(path.join(dir, 'index.html'));
  const router = express.Router();
  router.use('/console', (req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!built) return next(new CaError('not_found', 'console_not_built', 'the console is not built: run npm run build (npm start does)'));
    // /console → /console/, so that the page's relative URLs resolve under it.
    if (req.originalUrl.split('?')[0] === '/console') return res.redirect(301, '/console/');
    next();
  });
  if (built) {
    router.use(
      '/console',
      express.static(dir!, {
        index: 'index.html',
        redirect: false,
        fallthrough: true,
        setHeaders: (res, file) => {
          res.setHeader('Cache-Control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      }),
    );
  }
  return router;
}
