package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/function"
	"github.com/bulkhead-dev/bulkhead/internal/function/functiontest"
)

// childEnv, when set, names the database that this test binary, started by
// TestStoreSQLiteDurability, writes to until it is killed.
const childEnv = "BULKHEAD_STORE_CHILD"

// The writer's writes are numbered from 1, one store call each: every fourth
// creates a function, the three after it publish its versions 1, 2 and 3.
func nthWrite(k int) (name string, number int) {
	return fmt.Sprintf("durable-%05d", (k-1)/4), (k - 1) % 4
}

// hasWrite reports whether write k is in s.
func hasWrite(ctx context.Context, s *Store, k int) (bool, error) {
	name, number := nthWrite(k)
	_, err := s.Version(ctx, name, number)
	if errors.Is(err, errdefs.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// TestStoreSQLiteDurability keeps invariant 5, "what was acknowledged is
// durable": a child process writes and reports each write the store
// acknowledged; the test kills it with SIGKILL mid-stream, reopens the
// database, and finds every acknowledged write, a consistent database, and
// nothing beyond the one write that may have been in flight. Three rounds, so
// recovery from a killed writer is itself written over and killed.
//
// A SIGKILL leaves what reached the kernel, so this proves that a write is
// committed before it is acknowledged and that recovery keeps commits; that
// commits also survive power loss rests on synchronous=FULL, which
// TestStoreSQLiteSettings checks.
func TestStoreSQLiteDurability(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		writeUntilKilled(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "bulkhead.db")
	for round := range 3 {
		acked := killWriter(t, path, 30)
		s := open(t, path)
		ctx := t.Context()
		for k := 1; k <= acked; k++ {
			if ok, err := hasWrite(ctx, s, k); err != nil || !ok {
				name, number := nthWrite(k)
				t.Fatalf("round %d: acknowledged write %d (%s:%d) lost: %v", round, k, name, number, err)
			}
		}
		// Writes run in order, so only write acked+1 may be there unacknowledged.
		inFlight, err := hasWrite(ctx, s, acked+1)
		if err != nil {
			t.Fatal(err)
		}
		for k := acked + 2; k <= acked+8; k++ {
			if ok, err := hasWrite(ctx, s, k); err != nil || ok {
				t.Fatalf("round %d: write %d, never attempted, found: %v, %v", round, k, ok, err)
			}
		}
		var check string
		if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		rows, err := s.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			t.Fatal(err)
		}
		if rows.Next() {
			t.Errorf("round %d: foreign_key_check finds dangling references", round)
		}
		rows.Close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d writes acknowledged, all present; the write in flight at the kill committed: %v", round, acked, inFlight)
	}
}

// killWriter starts the writer on path, kills it once it has acknowledged at
// least n more writes, and returns the number of the last write it
// acknowledged.
func killWriter(t *testing.T, path string, n int) int {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStoreSQLiteDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var other strings.Builder // the test framework's output, for a failure
	first, last, seen := 0, 0, 0
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		k, ok := strings.CutPrefix(lines.Text(), "committed ")
		if !ok {
			fmt.Fprintln(&other, lines.Text())
			continue
		}
		if last, err = strconv.Atoi(k); err != nil {
			t.Fatalf("writer said %q", lines.Text())
		}
		if first == 0 {
			first = last
		}
		if seen++; seen == n {
			// Process.Kill sends SIGKILL: no deferred calls, no Close.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		// Keep reading: lines already in the pipe are acknowledged writes.
	}
	err = cmd.Wait()
	if seen < n || cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("the writer stopped by itself after %d writes (%v):\n%s%s", seen, err, &other, stderr.Bytes())
	}
	if last != first+seen-1 {
		t.Fatalf("writer acknowledged writes %d…%d out of order (%d lines)", first, last, seen)
	}
	return last
}

// writeUntilKilled is the child: it resumes after the last write the
// database holds and reports each acknowledged write as "committed K" on
// stdout. It stops by itself only on error or after a minute, should the
// parent be gone.
func writeUntilKilled(t *testing.T, path string) {
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	k := 1
	for ; ; k++ {
		if ok, err := hasWrite(ctx, s, k); err != nil {
			t.Fatal(err)
		} else if !ok {
			break
		}
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); k++ {
		name, number := nthWrite(k)
		f, latest := functiontest.Sample(name)
		if number == function.Latest {
			err = s.CreateFunction(ctx, f, latest)
		} else {
			var v function.Version
			v, err = s.PublishVersion(ctx, latest)
			if err == nil && v.Number != number {
				err = fmt.Errorf("published %s:%d, want %d", name, v.Number, number)
			}
		}
		if err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
		fmt.Fprintf(os.Stdout, "committed %d\n", k)
	}
}
