// Builds the console page into dist/console-ui/: one ES module bundle (Preact included), the
// stylesheet and the HTML. Run by `npm run build` and `prepare` (so `npm ci` builds it); the
// server only reads the files, nothing is fetched at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console-ui`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}console/src/main.tsx`],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  outfile: `${out}/app.js`,
  logLevel: 'warning',
});
copyFileSync(`${root}console/index.html`, `${out}/index.html`);
copyFileSync(`${root}console/app.css`, `${out}/app.css`);
