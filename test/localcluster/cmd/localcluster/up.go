package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// state is what `up` publishes in <dir>/state.json for `down`, `ctl` and the test harness.
type state struct {
	PID        int      `json:"pid"`
	Kubeconfig string   `json:"kubeconfig"`
	Control    string   `json:"control"`
	Planes     []*plane `json:"planes"`
}

type upOptions struct {
	dir         string
	kubeconfig  string
	bindAddress string
	timeout     time.Duration
	names       []string
	// serviceCIDRs, by plane in the order named; planes past the list get 10.96.0.0/16.
	serviceCIDRs []string
}

// usageError is bad input: the message is the one line the user sees.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseUp(args []string) (*upOptions, error) {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one line by the caller, not with a usage dump
	o := &upOptions{}
	fs.StringVar(&o.dir, "dir", "", "directory for state, certificates, data and logs (required)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "where to write the kubeconfig (default <dir>/kubeconfig)")
	fs.StringVar(&o.bindAddress, "bind-address", "127.0.0.1", "address every component listens on")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long the start may take")
	cidrs := fs.String("service-cidrs", "", "Service cluster IP ranges, comma-separated, one per plane in the order named (default 10.96.0.0/16 each)")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err.Error() + " (usage: localcluster up --dir DIR NAME...)"}
	}
	o.names = fs.Args()
	if *cidrs != "" {
		o.serviceCIDRs = strings.Split(*cidrs, ",")
		for _, c := range o.serviceCIDRs {
			if _, _, err := net.ParseCIDR(c); err != nil {
				return nil, usageError{fmt.Sprintf("--service-cidrs: %q is not a CIDR such as 10.96.0.0/16", c)}
			}
		}
	}
	if o.dir == "" {
		return nil, usageError{"--dir is required (usage: localcluster up --dir DIR NAME...)"}
	}
	if len(o.names) == 0 {
		return nil, usageError{"name at least one control plane (usage: localcluster up --dir DIR NAME...)"}
	}
	seen := map[string]bool{}
	for _, n := range o.names {
		if len(n) > 63 || !dnsLabel.MatchString(n) {
			return nil, usageError{fmt.Sprintf("%q is not a valid control plane name: use a DNS-1123 label (lower-case letters, digits and '-', at most 63)", n)}
		}
		if seen[n] {
			return nil, usageError{fmt.Sprintf("control plane %q is named twice", n)}
		}
		seen[n] = true
	}
	if ip := net.ParseIP(o.bindAddress); ip == nil {
		return nil, usageError{fmt.Sprintf("--bind-address %q is not an IP address", o.bindAddress)}
	}
	var err error
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return nil, err
	}
	if o.kubeconfig == "" {
		o.kubeconfig = filepath.Join(o.dir, "kubeconfig")
	}
	if o.kubeconfig, err = filepath.Abs(o.kubeconfig); err != nil {
		return nil, err
	}
	return o, nil
}

// checkWritable makes dir and proves a file can be created in it, before anything starts.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create directory %s: %v", dir, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %v", dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// freePorts reserves n distinct ports by holding listeners open until all are chosen.
func freePorts(host string, n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func runUp(args []string) error {
	o, err := parseUp(args)
	if err != nil {
		return err
	}
	for _, d := range []string{o.dir, filepath.Dir(o.kubeconfig)} {
		if err := checkWritable(d); err != nil {
			return usageError{err.Error()}
		}
	}
	statePath := filepath.Join(o.dir, "state.json")
	if old, err := readState(o.dir); err == nil && processAlive(old.PID) {
		return usageError{fmt.Sprintf("control planes are already running from %s (pid %d); run `localcluster down --dir %s` first", o.dir, old.PID, o.dir)}
	}
	watchParent(os.Getppid())

	began := time.Now()
	ports, err := freePorts(o.bindAddress, 4*len(o.names))
	if err != nil {
		return err
	}
	planes := make([]*plane, len(o.names))
	for i, n := range o.names {
		planes[i] = &plane{
			Name: n, Dir: filepath.Join(o.dir, n), BindAddress: o.bindAddress,
			EtcdPort: ports[4*i], EtcdPeerPort: ports[4*i+1], APIServerPort: ports[4*i+2], ControllerMgrPort: ports[4*i+3],
			ServiceCIDR: "10.96.0.0/16",
		}
		if i < len(o.serviceCIDRs) {
			planes[i].ServiceCIDR = o.serviceCIDRs[i]
		}
		// A fresh start: data a previous run left would carry its objects into this one.
		if err := os.RemoveAll(planes[i].Dir); err != nil {
			return err
		}
		if err := planes[i].prepare(); err != nil {
			return fmt.Errorf("%s: %v", n, err)
		}
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	go func() {
		select {
		case <-signals:
			cancel() // a signal during start aborts it; the deferred cleanup below stops what started
		case <-ctx.Done():
		}
	}()
	stopAll := func() {
		var wg sync.WaitGroup
		for _, p := range planes {
			wg.Add(1)
			go func(p *plane) { defer wg.Done(); p.stop() }(p)
		}
		wg.Wait()
	}

	errs := make([]error, len(planes))
	var wg sync.WaitGroup
	for i, p := range planes {
		wg.Add(1)
		go func(i int, p *plane) { defer wg.Done(); errs[i] = p.start(ctx) }(i, p)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		stopAll()
		return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	signal.Stop(signals)

	kubeconfig, err := adminKubeconfig(planes)
	if err == nil {
		err = writeFileAtomic(o.kubeconfig, kubeconfig, 0o600)
	}
	ctl, ctlErr := serveControl(filepath.Join(o.dir, "control.sock"), planes)
	if err == nil {
		err = ctlErr
	}
	st := &state{PID: os.Getpid(), Kubeconfig: o.kubeconfig, Control: filepath.Join(o.dir, "control.sock"), Planes: planes}
	if err == nil {
		var data []byte
		data, _ = json.MarshalIndent(st, "", "  ")
		err = writeFileAtomic(statePath, data, 0o600)
	}
	if err != nil {
		stopAll()
		return err
	}
	fmt.Printf("localcluster: %d control planes ready in %.1fs: %s; kubeconfig %s\n",
		len(planes), time.Since(began).Seconds(), strings.Join(o.names, ", "), o.kubeconfig)

	// Supervise until told to stop; the children end with us in any case (see component.start).
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	<-stop
	ctl.Close()
	stopAll()
	os.Remove(statePath)
	os.Remove(st.Control)
	return nil
}

func readState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	st := &state{}
	return st, json.Unmarshal(data, st)
}

// processAlive is true for a running process; a zombie (ended, not yet reaped by its parent)
// counts as gone.
func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may itself contain spaces.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// runDown stops the control planes that `up` started from dir and waits until they are gone.
func runDown(args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "the directory given to up (required)")
	if err := fs.Parse(args); err != nil || *dir == "" || fs.NArg() > 0 {
		return usageError{"usage: localcluster down --dir DIR"}
	}
	st, err := readState(*dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Printf("localcluster: nothing is running from %s\n", *dir)
		return nil
	} else if err != nil {
		return err
	}
	if processAlive(st.PID) {
		if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil {
			return err
		}
		deadline := time.Now().Add(30 * time.Second)
		for processAlive(st.PID) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if processAlive(st.PID) {
			return fmt.Errorf("pid %d did not stop within 30s", st.PID)
		}
	}
	os.Remove(filepath.Join(*dir, "state.json"))
	fmt.Printf("localcluster: stopped the control planes from %s\n", *dir)
	return nil
}
