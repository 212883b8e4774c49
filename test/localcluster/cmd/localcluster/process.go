package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// parentEnv names the variable through which a supervised component learns its supervisor's pid,
// so that it can end itself when the supervisor is gone, however the supervisor died.
const parentEnv = "LOCALCLUSTER_PARENT_PID"

// watchParent ends this process when the process that started it is gone. Pdeathsig covers most
// cases; polling getppid also covers the ones it cannot (a supervisor thread that exited).
func watchParent(parent int) {
	if parent <= 1 {
		return
	}
	go func() {
		for {
			if os.Getppid() != parent {
				os.Exit(1)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
}

// watchParentFromEnv starts the watch for a component that a supervisor started.
func watchParentFromEnv() {
	if v := os.Getenv(parentEnv); v != "" {
		if pid, err := strconv.Atoi(v); err == nil {
			watchParent(pid)
		}
	}
}

// component is one supervised child process: this same binary running an upstream component.
type component struct {
	name    string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// wanted is true from start until stop: a process that ends while wanted has crashed, and is
	// started again after a short wait, as a kubelet restarts a static pod.
	wanted   bool
	restarts int
}

func (c *component) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wanted = true
	return c.startLocked()
}

func (c *component) startLocked() error {
	if c.cmd != nil {
		return fmt.Errorf("%s is already running", c.name)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{c.name}, c.args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", parentEnv, os.Getpid()))
	// A group of its own keeps a terminal's Ctrl-C away from the children: the supervisor stops
	// them in order instead. Pdeathsig kills them if the supervisor dies without doing so.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	c.cmd, c.done = cmd, make(chan struct{})
	done := c.done
	go func() {
		err := cmd.Wait()
		logFile.Close()
		c.mu.Lock()
		crashed := c.wanted
		c.cmd = nil
		if crashed {
			c.restarts++
		}
		backoff := time.Duration(min(c.restarts, 10)) * time.Second
		c.mu.Unlock()
		close(done)
		if !crashed {
			return
		}
		fmt.Fprintf(os.Stderr, "localcluster: %s exited unexpectedly (%v); restarting it in %s; see %s\n", c.name, err, backoff, c.logPath)
		time.Sleep(backoff)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.wanted && c.cmd == nil {
			if err := c.startLocked(); err != nil {
				fmt.Fprintf(os.Stderr, "localcluster: restarting %s failed: %v\n", c.name, err)
			}
		}
	}()
	return nil
}

// exited is closed when the current process ends (nil when not running).
func (c *component) exited() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	return c.done
}

// stop asks the component to end (SIGTERM) and kills it if it has not within the grace period.
func (c *component) stop(grace time.Duration) {
	c.mu.Lock()
	c.wanted = false
	cmd, done := c.cmd, c.done
	if cmd == nil {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (c *component) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}
