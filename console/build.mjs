// Bundles the console (console/src → dist/console/) with esbuild: one script, one stylesheet and the
// page that loads them, so the registry can serve it as static files under a CSP without inline code.
// Run by `npm run build` after tsc; `node console/build.mjs --watch` rebuilds on change while developing.
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, '..', 'dist', 'console');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  entryPoints: { app: path.join(here, 'src', 'main.tsx') },
  bundle: true,
  minify: !watch,
  sourcemap: 'linked',
  format: 'esm',
  // uPlot is imported dynamically by the first chart: its own chunk, loaded only on pages with charts.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir,
  legalComments: 'none',
  logLevel: 'warning',
};

// A clean folder each build, so chunks of an earlier build never linger beside the new ones.
if (!watch) await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await copyFile(path.join(here, 'index.html'), path.join(outdir, 'index.html'));
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  process.stdout.write(`watching console/src → ${outdir}\n`);
} else {
  await esbuild.build(options);
  const sizes = [];
  const chunks = (await readdir(outdir)).filter((f) => /^chunk-.*\.js$/.test(f));
  for (const file of ['app.js', 'app.css', ...chunks]) {
    const full = path.join(outdir, file);
    const raw = (await stat(full)).size;
    const gz = gzipSync(await readFile(full)).length;
    sizes.push(`${file} ${(raw / 1024).toFixed(1)} kB (${(gz / 1024).toFixed(1)} kB gzipped)`);
  }
  process.stdout.write(`console: ${sizes.join(', ')}\n`);
}
