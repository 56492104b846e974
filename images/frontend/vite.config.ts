import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The built app calls only relative /api/... URLs: nginx serves it and proxies /api/ to the API (nginx/).
// `npm run dev` proxies the same path to a locally running API (HERD_API_URL, default uwsgi's :8000).
export default defineConfig({
    plugins: [react()],
    build: {
        outDir: "dist",
        // Hashed file names under /assets/ are what nginx caches for a year as immutable.
        assetsDir: "assets",
        // Nothing inlined as data: URIs, so the Content-Security-Policy can stay at 'self'.
        assetsInlineLimit: 0,
        sourcemap: false,
        target: "es2022",
    },
    server: {
        proxy: { "/api": process.env.HERD_API_URL ?? "http://127.0.0.1:8000" },
    },
});
