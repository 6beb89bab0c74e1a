package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the cluster's bootstrap superuser, whom DSN connects as.
const Superuser = "postgres"

// Cluster is one test's database in a throwaway PostgreSQL cluster.
type Cluster struct {
	srv      *server
	database string
}

// DSN returns the connection string of the test's database as the
// superuser: what a store's owner DSN would be.
func (c *Cluster) DSN() string { return c.DSNAs(Superuser) }

// DSNAs returns the connection string of the test's database as role user.
// The cluster trusts every local connection, so no password is needed (one
// in a role's definition is ignored).
func (c *Cluster) DSNAs(user string) string { return c.srv.dsn(user, c.database) }

// Database returns the name of the test's database.
func (c *Cluster) Database() string { return c.database }

// shared is the cluster of a test binary whose TestMain calls Main, started
// by the first Start and stopped when the tests are done.
var shared struct {
	mu      sync.Mutex
	enabled bool
	srv     *server
	err     error
}

// databases numbers the databases Start creates.
var databases atomic.Int64

// Main runs a test binary's tests with one cluster shared by all of them:
// call it from TestMain. The cluster starts when a test first calls Start
// (so a run that skips them all starts none) and stops, its directory
// removed, after the last test.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the cluster: %v\n", err)
		}
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Start returns a fresh, empty database for t in a throwaway PostgreSQL
// cluster, dropped when t ends. The cluster is the test binary's shared one
// if TestMain calls Main, otherwise one started for t alone and stopped
// when t ends (slower: initdb takes a second or two). Start skips t, saying
// why, if PostgreSQL 15 or later is not installed, or if the test runs as
// root and there is no postgres user to run it as.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, why := findBinaries()
	if why == "" {
		_, why = runAs()
	}
	if why != "" {
		t.Skipf("pgtest: %s", why)
	}
	var srv *server
	shared.mu.Lock()
	if shared.enabled {
		if shared.srv == nil && shared.err == nil {
			shared.srv, shared.err = startServer(bin)
		}
		srv, err := shared.srv, shared.err
		shared.mu.Unlock()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		return newDatabase(t, srv)
	}
	shared.mu.Unlock()
	srv, err := startServer(bin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return newDatabase(t, srv)
}

// newDatabase creates an empty database in srv for t and drops it when t
// ends.
func newDatabase(t testing.TB, srv *server) *Cluster {
	t.Helper()
	c := &Cluster{srv: srv, database: fmt.Sprintf("test_%d", databases.Add(1))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.exec(ctx, `CREATE DATABASE `+pgx.Identifier{c.database}.Sanitize()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.exec(ctx, `DROP DATABASE `+pgx.Identifier{c.database}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// The binaries. PostgreSQL 15 is what CI installs (Debian bookworm); a
// later major version found through pg_config serves as well.
const debianBin = "/usr/lib/postgresql/15/bin"

var versionLine = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+)`)

// findBinaries returns the directory holding initdb and postgres, or why
// there is none.
func findBinaries() (dir, why string) {
	candidates := []string{debianBin}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	for _, dir := range candidates {
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		m := versionLine.FindSubmatch(out)
		if m == nil {
			continue
		}
		if major, _ := strconv.Atoi(string(m[1])); major >= 15 {
			if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
				return dir, ""
			}
		}
	}
	return "", fmt.Sprintf("PostgreSQL 15 is not installed (no %s/postgres, nor a version 15 or later from pg_config --bindir); CI installs postgresql-15", debianBin)
}

// runAs returns the credential to run PostgreSQL with: PostgreSQL refuses
// to run as root, so a root test runs it as the postgres user; anyone else
// runs it as themselves (nil).
func runAs() (*syscall.Credential, string) {
	if os.Geteuid() != 0 {
		return nil, ""
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, "running as root and there is no postgres user to run PostgreSQL as"
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Sprintf("postgres user has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, ""
}

// server is a running cluster: its directory holds the data directory, the
// unix socket (the only way in: no TCP) and the server's log.
type server struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited
	err  error         // its exit status, once done is closed
}

// port only names the socket file (.s.PGSQL.5432) in the cluster's own
// directory; nothing listens on TCP.
const port = 5432

// startServer runs initdb and then postgres in a new temporary directory
// and waits until it accepts connections.
func startServer(bin string) (*server, error) {
	cred, _ := runAs()
	base := os.TempDir()
	if cred != nil && !traversableByAll(base) {
		base = "/tmp" // the postgres user must reach the directory
	}
	dir, err := os.MkdirTemp(base, "bulkhead-pg-")
	if err != nil {
		return nil, err
	}
	srv := &server{dir: dir, done: make(chan struct{})}
	if err := srv.start(bin, cred); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

func (s *server) start(bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	// --no-sync and, below, fsync=off: a crash loses a throwaway cluster.
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", Superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	logFile, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-k", s.dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := s.exec(ctx, `SELECT 1`)
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited: %v\n%s", s.err, s.log())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within a minute: %v\n%s", err, s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// log returns the server's log, for an error message.
func (s *server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

func (s *server) dsn(user, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", quote(s.dir), port, quote(user), quote(database))
}

// quote makes v one value of a keyword/value connection string.
func quote(v string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + `'`
}

// exec runs one statement as the superuser in the postgres database.
func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.dsn(Superuser, "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// stop shuts the server down (fast shutdown: SIGINT; SIGKILL if it takes
// more than 10 s) and removes its directory.
func (s *server) stop() error {
	var errs []error
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				errs = append(errs, errors.New("postgres did not stop within 10 s; killed"))
			}
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// traversableByAll reports whether every directory from / to dir lets
// anyone through.
func traversableByAll(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}
