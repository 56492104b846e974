// Command pulumi-language-nodejs is herd's own minimal Node.js language host for the Pulumi engine.
//
// Why it exists: upstream's host lives in the nested module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which is never tagged and which the
// Go module proxy this project can reach refuses at every version (403 "not available"). The engine only
// needs a small part of the LanguageRuntime service to run a program, so this host implements that part
// on top of github.com/pulumi/pulumi/sdk/v3 (the same version as the CLI):
//
//   - Run: resolve @pulumi/pulumi/cmd/run from the program directory (node's own resolution, so NODE_PATH
//     works), start `node <run> --monitor ... <entry point>` with the stack config in PULUMI_CONFIG, and turn
//     its exit into a RunResponse (exit code 32 = the program already reported its error: bail quietly).
//   - GetRequiredPackages / GetRequiredPlugins: none. Providers are then loaded when the program first
//     registers a resource, from the plugins installed under PULUMI_HOME; nothing is ever downloaded.
//   - Handshake, GetPluginInfo, About, GetProgramDependencies, RuntimeOptionsPrompts, Cancel.
//
//   - RunPlugin: a plugin written in Node.js, here a policy pack (`pulumi preview --policy-pack <dir>`):
//     `node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> .` in the pack's directory (an analyzer),
//     or `node <@pulumi/pulumi/cmd/run-plugin> <args>` for other kinds, its output streamed back.
//
// Everything else (code generation, Pack, Link, InstallDependencies) answers Unimplemented: run `npm ci`
// yourself; the e2e scripts reuse the repository's node_modules.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// exitAlreadyReported is the exit code @pulumi/pulumi's runner uses after it has shown the user an
// actionable message itself.
const exitAlreadyReported = 32

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the program")
	runtimeName := flag.String("runtime", "nodejs", "runtime; only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this host runs nodejs only", *runtimeName))
	}

	host := &langHost{tracing: *tracing}
	if args := flag.Args(); len(args) > 0 {
		host.engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()
	if host.engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC server stopped: %w", err))
	}
}

type langHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string

	mu      sync.Mutex
	running map[*exec.Cmd]struct{}
}

func (h *langHost) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *langHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *langHost) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *langHost) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *langHost) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *langHost) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *langHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node not found on PATH")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// Cancel interrupts every program this host is running.
func (h *langHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	return &emptypb.Empty{}, nil
}

// options are the `runtime.options` of Pulumi.yaml that this host honours.
type options struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(m map[string]any) (options, error) {
	o := options{typescript: true}
	if v, ok := m["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return o, errors.New("runtime option typescript must be a boolean")
		}
		o.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option tsconfig must be a string")
		}
		o.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option nodeargs must be a string")
		}
		o.nodeargs = strings.Fields(s)
	}
	return o, nil
}

// resolveRunner asks node where @pulumi/pulumi/cmd/run is, as seen from the program directory.
func resolveRunner(ctx context.Context, node, dir string) (string, error) {
	return resolveModule(ctx, node, dir, "@pulumi/pulumi/cmd/run")
}

// resolveModule asks node where a module is, as seen from a directory.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	script := `try { console.log(require.resolve('` + module + `')) } catch (e) {` +
		` console.error(e.code === 'MODULE_NOT_FOUND' ? 'the @pulumi/pulumi package is not installed' +` +
		` ' where the program can require it (run npm ci, or set NODE_PATH)' : e.message); process.exit(1) }`
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *langHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return &pulumirpc.RunResponse{Error: "run request without program info"}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runner, err := resolveRunner(ctx, node, info.GetProgramDirectory())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	// The SDK reads config keys in the "<namespace>:config:<name>" form.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("bad config key %q: %v", k, err)}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runner)
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("organization", req.GetOrganization())
	flagArg("project", req.GetProject())
	flagArg("root-directory", info.GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = info.GetProgramDirectory()
	cmd.Env = env
	// Not os.Stdout itself: node may switch the descriptor's blocking mode under us.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("pulumi-language-nodejs: running %s %s", node, strings.Join(args, " "))

	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: "could not start node: " + err.Error()}, nil
	}
	h.mu.Lock()
	if h.running == nil {
		h.running = map[*exec.Cmd]struct{}{}
	}
	h.running[cmd] = struct{}{}
	h.mu.Unlock()
	err = cmd.Wait()
	h.mu.Lock()
	delete(h.running, cmd)
	h.mu.Unlock()

	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() == exitAlreadyReported {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", ee.ExitCode())}, nil
	}
	return &pulumirpc.RunResponse{Error: "could not run the program: " + err.Error()}, nil
}

// RunPlugin runs a plugin written in Node.js (a policy pack, when the engine asks for an analyzer) and streams
// its output back; the last message is its exit code.
func (h *langHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	module := "@pulumi/pulumi/cmd/run-plugin"
	args := append([]string{}, req.GetArgs()...)
	if req.GetKind() == "analyzer" {
		// The policy pack runner takes the engine address and the pack's directory.
		module = "@pulumi/pulumi/cmd/run-policy-pack"
		args = append(args, ".")
	}
	runner, err := resolveModule(ctx, node, dir, module)
	if err != nil {
		return fmt.Errorf("%s: %w (run npm ci in %s)", module, err, dir)
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, node, append(append(append([]string{}, opts.nodeargs...), runner), args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	if opts.typescript {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	var sendMu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return server.Send(r)
	}
	cmd.Stdout = writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: append([]byte{}, b...)}})
	})
	cmd.Stderr = writerFunc(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: append([]byte{}, b...)}})
	})
	logging.V(5).Infof("pulumi-language-nodejs: running plugin %s %s in %s", node, strings.Join(cmd.Args[1:], " "), dir)
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("could not run the plugin: %w", err)
		}
		code = ee.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) error

func (f writerFunc) Write(b []byte) (int, error) {
	if err := f(b); err != nil {
		return 0, err
	}
	return len(b), nil
}
