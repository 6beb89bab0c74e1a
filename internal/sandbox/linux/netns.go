package linux

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// listenInside opens the endpoint's listener inside the network namespace of
// the process of pidfd: a TCP socket on the namespace's own loopback, which the
// server serves as any other. The program reaches it at
// 127.0.0.1:endpointPort with a plain TCP client (unmodified runtime clients
// take only host:port), and nothing outside the namespace can: the socket
// belongs to the namespace, whatever process holds it. See
// docs/adr/0003-runtime-api-transport.md for the options measured.
//
// The goroutine locks its thread, enters the namespace, listens, and
// returns to the server's namespace before unlocking. If it cannot return,
// it stays locked, so the runtime ends the thread rather than let another
// goroutine run in the sandbox's namespace. (Ending a thread is otherwise
// avoided: a child forked from it would get its parent-death signal.)
func listenInside(pidfd *os.File) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		l, restored, err := enterAndListen(int(pidfd.Fd()))
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- result{l, err}
	}()
	r := <-ch
	return r.l, r.err
}

// enterAndListen runs on a locked thread; restored reports whether the
// thread is back in its own network namespace.
func enterAndListen(pidfd int) (l net.Listener, restored bool, err error) {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("opening the server's network namespace: %w", err)
	}
	defer unix.Close(self)
	// setns with a pidfd (Linux 5.8) enters that process's namespace: no
	// /proc path, which a reused pid could point elsewhere.
	if err := unix.Setns(pidfd, unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("entering the sandbox's network namespace: %w", err)
	}
	defer func() {
		restored = unix.Setns(self, unix.CLONE_NEWNET) == nil
	}()
	if err := loopbackUp(); err != nil {
		return nil, false, err
	}
	l, err = net.Listen("tcp4", net.JoinHostPort(endpointIP, strconv.Itoa(endpointPort)))
	return l, false, err
}

// loopbackUp brings up lo, which a new network namespace has down.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}
