// Package sandboxtest holds what tests of sandbox.Driver and of its users
// need: the conformance suite every driver must pass (Conformance), a fake
// driver that passes it (Fake), and the programs both run (behaviours). It
// owns no real driver.
//
// A behaviour is a small program written as a Go function against Env and
// registered by name. A real driver runs it as a real process: Install puts
// the running test binary into the code directory as bootstrap, Program names
// the behaviour in the environment, and Main, called first thing in TestMain,
// finds the name there and runs the behaviour instead of the tests. The Fake
// runs the same behaviour in goroutines against an emulated Env. So one
// program exercises every driver and the Fake alike.
//
// A driver proves itself by running the suite:
//
//	func TestMain(m *testing.M) {
//		sandboxtest.Main()
//		os.Exit(m.Run())
//	}
//
//	func TestSandboxProcessConformance(t *testing.T) {
//		sandboxtest.Conformance(t, func(t *testing.T) sandbox.Driver {
//			d, err := process.New(t.TempDir(), nil)
//			...
//			return d
//		})
//	}
//
// Code above the sandbox tests against the Fake, and can check with Live that
// it destroys what it starts:
//
//	code := t.TempDir()
//	sandboxtest.Install(t, code)
//	command, env := sandboxtest.Program("ping-endpoint", "")
//	sb, err := fake.Start(ctx, sandbox.Spec{ID: "env-1", Code: code,
//		Command: command, Env: env, Endpoint: h, EndpointEnv: sandboxtest.EndpointEnv})
//
// # Behaviours
//
//	name                 arg                 does
//	exit                 status              exits with status
//	echo-env             -                   prints its environment as a JSON array of "KEY=value"
//	stdout-stderr        n                   writes StdoutLine(i) and StderrLine(i) for i < n, alternating
//	ping-endpoint        [witness address]   GETs PingPath from $SANDBOXTEST_ENDPOINT (and the witness)
//	                                         every 10ms until killed, printing each answer on a line
//	fork-ping            [witness address]   forks ping-endpoint, then sleeps forever
//	fork-ping-then-exit  [witness address]   forks ping-endpoint, then exits 0
//	write-tmp            file name           writes the file into $TMPDIR, prints a TmpListing
//	read-code            path                prints the file at path (the suite passes one in CodeDir)
//	sleep-forever        -                   sleeps until killed
//	ignore-sigterm       -                   ignores SIGTERM, prints Ready, sleeps until killed
//	alloc                MiB                 allocates and touches that much memory, prints Ready, exits 0
//	flood                bytes               writes that many bytes to stdout at full speed, exits 0
//
// An unknown name, or a behaviour that panics, exits with status 2 and a
// message on stderr. Register adds behaviours of a package's own (a Runtime
// API client, say) from its TestMain.
package sandboxtest
