package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// serveControl answers on a unix socket so tests can stop and start one component of one plane,
// e.g. to take a member's API server away and bring it back on the same address.
//
//	POST /stop?plane=member-1&component=kube-apiserver
//	POST /start?plane=member-1&component=kube-apiserver
func serveControl(path string, planes []*plane) (io.Closer, error) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	find := func(r *http.Request) (*plane, *component, error) {
		for _, p := range planes {
			if p.Name == r.URL.Query().Get("plane") {
				if c := p.component(r.URL.Query().Get("component")); c != nil {
					return p, c, nil
				}
				return nil, nil, fmt.Errorf("plane %s has no component %q", p.Name, r.URL.Query().Get("component"))
			}
		}
		return nil, nil, fmt.Errorf("no plane %q", r.URL.Query().Get("plane"))
	}
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		_, c, err := find(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		c.stop(10 * time.Second)
		fmt.Fprintf(w, "stopped %s\n", c.name)
	})
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		p, c, err := find(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
		defer cancel()
		if err := p.startComponent(ctx, c); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "started %s\n", c.name)
	})
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(l) }()
	return server, nil
}

// runCtl is the command-line side of the control socket: localcluster ctl --dir DIR stop|start PLANE COMPONENT.
func runCtl(args []string) error {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "the directory given to up (required)")
	const usage = "usage: localcluster ctl --dir DIR stop|start PLANE COMPONENT"
	if err := fs.Parse(args); err != nil || *dir == "" || fs.NArg() != 3 {
		return usageError{usage}
	}
	verb, planeName, componentName := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	if verb != "stop" && verb != "start" {
		return usageError{usage}
	}
	st, err := readState(*dir)
	if err != nil {
		return fmt.Errorf("no control planes are running from %s", *dir)
	}
	client := &http.Client{
		Timeout: 3 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", st.Control)
		}},
	}
	resp, err := client.Post(fmt.Sprintf("http://localcluster/%s?plane=%s&component=%s", verb, planeName, componentName), "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(strings.TrimSpace(string(body)))
	}
	fmt.Print(string(body))
	return nil
}
