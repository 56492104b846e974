/** Builds the app with Vite (the same config the Dockerfile's `npm run build` uses) into a given directory. */
import * as fs from "node:fs";
import * as path from "node:path";
import { build } from "vite";
import { FRONTEND_DIR } from "./env";

export async function buildApp(outDir: string): Promise<string> {
    await build({
        root: FRONTEND_DIR,
        configFile: path.join(FRONTEND_DIR, "vite.config.ts"),
        logLevel: "warn",
        build: { outDir, emptyOutDir: true },
    });
    // Readable by the unprivileged user nginx runs as.
    fs.chmodSync(outDir, 0o755);
    return outDir;
}
