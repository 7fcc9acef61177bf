// The citizen site (index.html → /) and the staff console (console/index.html → /console/),
// built to dist/ with hashed assets under dist/assets/. No inline script or style ends up in the
// pages: the platform and CloudFront serve them under a CSP of script-src 'self'.
import { defineConfig } from 'vite';

// `vite` / `vite preview` for page work: the API is proxied to a running platform
// (MKPF_API, default scripts/dev's http://127.0.0.1:8080), so pages and API share an origin.
const api = process.env.MKPF_API ?? 'http://127.0.0.1:8080';
const proxy = Object.fromEntries(['/v1', '/healthz', '/openapi.json'].map((p) => [p, { target: api, changeOrigin: false }]));

export default defineConfig({
  base: '/',
  server: { host: '127.0.0.1', proxy },
  preview: { host: '127.0.0.1', proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        citizen: 'index.html',
        console: 'console/index.html',
      },
    },
  },
});
