package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// moduleRoot is the directory of kith's go.mod, where builds run.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench inside the kith module (go run ./bench ...)")
	}
	return filepath.Dir(mod), nil
}

// buildStatic builds pkg the way kith is released: static, stripped,
// without local paths.
func buildStatic(ctx context.Context, root, pkg, out, goarch string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM=7")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %w\n%s", pkg, goarch, err, b)
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, retrying refused connections
// every poll, and returns the time of the first 200.
func waitHTTP(ctx context.Context, url string, poll, timeout time.Duration, exited <-chan struct{}) (time.Time, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s did not answer 200 within %s: %v", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-exited:
			return time.Time{}, fmt.Errorf("the server exited before answering %s", url)
		case <-time.After(poll):
		}
	}
}

// getOK fetches url and fails unless it answers 200.
func getOK(url string, header ...string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return b, err
}

// server is a child process serving HTTP, started and stopped by a
// benchmark.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    bytes.Buffer // stdout and stderr, for error messages
	err    error        // Wait's result, once exited is closed
}

// startServer starts bin with args and env added to ours.
func startServer(bin string, args, env []string) (*server, error) {
	s := &server{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// stop sends SIGTERM and waits up to timeout for the exit, which must be
// clean (status 0). It reports how long the shutdown took.
func (s *server) stop(timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		<-s.exited
		return 0, fmt.Errorf("no exit within %s of SIGTERM; killed\n%s", timeout, s.out.String())
	}
	if s.err != nil {
		return 0, fmt.Errorf("exit after SIGTERM: %v\n%s", s.err, s.out.String())
	}
	return time.Since(t0), nil
}

// kill ends the server at once, for error paths.
func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// procStatus reads VmRSS and VmHWM (in bytes) of pid from /proc.
func procStatus(pid int) (rss, hwm int64, err error) {
	m, err := procMemory(pid)
	return m.rss, m.hwm, err
}

// procMemory reads VmRSS, its parts RssAnon and RssFile, and VmHWM of
// pid from /proc.
func procMemory(pid int) (memReading, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memReading{}, err
	}
	var m memReading
	fields := map[string]*int64{"VmRSS": &m.rss, "RssAnon": &m.anon, "RssFile": &m.file, "VmHWM": &m.hwm}
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(line, ":")
		p, ok := fields[k]
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, err
		}
		*p = n * 1024
		delete(fields, k)
	}
	if len(fields) > 0 {
		return m, fmt.Errorf("/proc/%d/status lacks %d of VmRSS, RssAnon, RssFile, VmHWM", pid, len(fields))
	}
	return m, nil
}

// processCPU is this process's user+system CPU time so far, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// summary is the median and range of a set of measurements.
type summary struct {
	n                int
	min, median, max float64
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{n: len(s), min: s[0], median: med, max: s[len(s)-1]}
}

// format writes the summary with unit, values divided by scale.
func (s summary) format(scale float64, unit string, prec int) string {
	f := func(v float64) string { return strconv.FormatFloat(v/scale, 'f', prec, 64) }
	return fmt.Sprintf("median %s %s (range %s–%s, n=%d)", f(s.median), unit, f(s.min), f(s.max), s.n)
}

// machine describes where the figures were measured.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s %s/%s, load average %s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
}

// ratio formats got/floor.
func ratio(got, floor float64) string {
	if floor == 0 {
		return "–"
	}
	return strconv.FormatFloat(got/floor, 'f', 2, 64) + "×"
}

// verdict says whether got meets a target (smaller is better).
func verdict(got, target float64) string {
	if got <= target {
		return "PASS"
	}
	return "FAIL"
}

// benchDir starts a benchmark command: it finds the module's root (to
// build kith from), makes the run's temporary directory, which the caller
// removes, and prints the machine line every report begins with.
func benchDir(ctx context.Context, name string, stdout io.Writer) (root, tmp string, err error) {
	root, err = moduleRoot(ctx)
	if err != nil {
		return "", "", err
	}
	tmp, err = os.MkdirTemp("", "kith-"+name+"-")
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(stdout, "machine: %s\n", machine())
	return root, tmp, nil
}
