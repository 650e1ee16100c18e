import path from 'node:path';
import { defineConfig } from 'vite';

/*
 * The admin console, built by `npm run build` into dist/console (CONSOLE_OUT_DIR elsewhere: the tests'
 * own builds) and served by the service at /console. Everything it loads is in that directory: no
 * CDN, no fonts, no inline script (the service's Content-Security-Policy forbids them).
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: process.env.CONSOLE_OUT_DIR ?? path.resolve(import.meta.dirname, '../../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be code of its own for browsers this console does not support.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
