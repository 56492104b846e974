/**
 * herd's commands behave like good CLI tools: `--help` prints the usage and exits 0, a bad --out fails at once with
 * one line naming the path and why (never a hang, never a stack trace), nothing is half-written, a relative path is
 * relative to where the user stands, and the set-up check names a missing system package and how to install it.
 *
 * The true CLI tests (a process of its own: --help on every command, a failing manifests run, `npm run` from another
 * directory) live here; other tests run the commands in-process (runCommand).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { checkOutDir, CliError, writeFilesAtomically } from "../scripts/cli";
import { PROJECT_DIR, runCommand, runScript, scriptFile } from "./helpers";

const COMMANDS = ["manifests", "manifests-diff", "handoff", "config-reference", "stacks", "bench", "e2e", "bench:e2e", "images", "preflight", "support-bundle"];

function tmpdir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "herd-cli-"));
}

/** A one-line error: no stack trace, no usage dump. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
}

describe("--help on every command", () => {
    for (const command of COMMANDS) {
        it(`${command} (node --import tsx ${scriptFile(command)}) --help prints the usage on stdout and exits 0`, () => {
            const r = runScript(command, ["--help"]);
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /^usage: npm run/);
            assert.equal(r.stderr, "");
        });
    }
    it("scripts/setup.sh and scripts/system-packages.sh answer --help too", () => {
        for (const script of ["scripts/setup.sh", "scripts/system-packages.sh"]) {
            const r = spawnSync("bash", [script, "--help"], { cwd: PROJECT_DIR, encoding: "utf8" });
            assert.equal(r.status, 0, `${script}: ${r.stderr}`);
            assert.match(r.stdout, /npm run setup|scripts\/system-packages\.sh check/);
        }
    });
});

describe("--out that cannot be written", () => {
    it("a kernel filesystem (/proc) fails at once instead of hanging (its own process: exit code, one line on stderr)", () => {
        const started = Date.now();
        const r = runScript("manifests", ["--stack", "onprem", "--out", "/proc/herd-out"]);
        assert.equal(r.status, 1);
        assertOneLineError(r.stderr, /^--out \/proc\/herd-out: cannot write there \(kernel filesystem\)/);
        assert.ok(Date.now() - started < 60_000, "returns promptly");
    });
    it("an existing file: names it, exit 1, no stack trace", async () => {
        const dir = tmpdir();
        try {
            const file = path.join(dir, "taken");
            fs.writeFileSync(file, "mine\n");
            for (const command of ["manifests", "handoff"] as const) {
                const r = await runCommand(command, ["--stack", "onprem", "--out", file, ...(command === "handoff" ? ["--offline"] : [])]);
                assert.equal(r.status, 1, `${command}: ${r.stderr}`);
                assertOneLineError(r.stderr, new RegExp(`^--out ${file.replace(/[/.]/g, "\\$&")}: exists and is not a directory$`));
                assert.equal(fs.readFileSync(file, "utf8"), "mine\n", "the file is untouched");
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("a path under a file, or in a directory that is not writable, names the reason", () => {
        const dir = tmpdir();
        try {
            fs.writeFileSync(path.join(dir, "file"), "");
            assert.throws(() => checkOutDir("--out", path.join(dir, "file", "sub")), (e: Error) => e instanceof CliError && /is a file, so no directory can be created under it/.test(e.message));
            if (process.getuid?.() !== 0) {
                fs.mkdirSync(path.join(dir, "ro"), { mode: 0o500 });
                assert.throws(() => checkOutDir("--out", path.join(dir, "ro", "x")), /is not writable/);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("a failed write leaves nothing behind: no partial file, no directory it created", () => {
        const dir = tmpdir();
        try {
            const out = path.join(dir, "new", "bundle");
            // The second file cannot be written (its name holds a directory that does not exist).
            assert.throws(() => writeFilesAtomically("--out", out, { "a.txt": "a", "missing/b.txt": "b" }), /--out .*: cannot write/);
            assert.deepEqual(fs.readdirSync(dir), [], "nothing was left");
            writeFilesAtomically("--out", out, { "a.txt": "a", "b.sh": "b" }, { "b.sh": 0o755 });
            assert.deepEqual(fs.readdirSync(out).sort(), ["a.txt", "b.sh"]);
            assert.equal(fs.statSync(path.join(out, "b.sh")).mode & 0o777, 0o755);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("paths are relative to where the user stands", () => {
    it("npm run manifests -- --out rel writes under the user's directory, not the project's", () => {
        const dir = tmpdir();
        try {
            const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_CONFIG: undefined, PULUMI_CONFIG_SECRET_KEYS: undefined };
            delete env["INIT_CWD"];
            const r = spawnSync("npm", ["--prefix", PROJECT_DIR, "run", "--silent", "manifests", "--", "--stack", "onprem", "--out", "rel-out"], {
                cwd: dir,
                encoding: "utf8",
                env,
                timeout: 120_000,
            });
            assert.equal(r.status, 0, r.stderr);
            assert.ok(fs.existsSync(path.join(dir, "rel-out", "manifests.yaml")), "written where the user ran the command");
            assert.ok(!fs.existsSync(path.join(PROJECT_DIR, "rel-out")), "not in the project");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the set-up check", () => {
    it("names a missing system package and the command that installs it, exit 1", () => {
        const r = spawnSync("bash", ["scripts/system-packages.sh", "check"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            env: { ...process.env, HERD_EXTRA_SYSTEM_PACKAGES: "herd-no-such-package|false" },
        });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /missing system packages the tests need: herd-no-such-package$/m);
        assert.match(r.stderr, /sudo scripts\/system-packages\.sh install .*apt-get install -y herd-no-such-package/);
    });
    it("npm test runs the check first, so a missing package stops it before any test", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> };
        assert.match(pkg.scripts["test"], /^bash scripts\/setup\.sh --check && /);
        assert.equal(pkg.scripts["setup"], "bash scripts/setup.sh");
    });
    it(".ci/run runs the README's two commands, word for word", () => {
        const ci = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const commands = ci.split("\n").filter((l) => /^npm /.test(l));
        assert.deepEqual(commands, ["npm run setup", "npm test", "npm run e2e"], ".ci/run: set up, test, then the real engine");
        for (const c of commands) {
            assert.ok(readme.includes(`\n${c}`), `the README shows \`${c}\``);
        }
    });
    it(".gitignore keeps every <renderDirectory>.secrets directory out of git", () => {
        for (const p of ["rendered/onprem.secrets/secret.yaml", "deliver/acme.secrets/x.yaml", "acme.secrets/x.yaml"]) {
            const r = spawnSync("git", ["check-ignore", "-q", "--no-index", p], { cwd: PROJECT_DIR });
            assert.equal(r.status, 0, `${p} is ignored`);
        }
    });
});
