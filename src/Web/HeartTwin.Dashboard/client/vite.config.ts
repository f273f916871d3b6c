import { defineConfig } from 'vite';

// Relative asset paths: the same build is served at "/" by the embedded host and may sit behind the gateway's prefix.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One small bundle; no source maps in what ships inside the assembly.
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a twin on 8080.
    proxy: { '/api': 'http://localhost:8080' },
  },
});
