// Command bench measures kith against the targets of design.md §10, each
// beside a floor measured in the same run on the same machine (the machines
// are shared and noisy, so only same-run ratios are comparable):
//
//	go run ./bench footprint     binary sizes, cold start, idle RSS, clean shutdown
//	go run ./bench fanout        one post to 10,000 followers on 500 loopback TLS servers
//	go run ./bench postlatency   `kith post` until the follower's inbox has the Create
//	go run ./bench inbound       5,000 signed activities from 32 TLS senders to the shared inbox
//	go run ./bench idle          idle RSS fresh, after a burst, inbound load and a fan-out, with open streams
//	go run ./bench import        kith import of a Mastodon archive: 10,000 posts, 2,000 follows
//
// Everything runs on loopback and stops by itself. Run "go run ./bench
// COMMAND -h" for the flags. The micro-benchmarks (inbox, rendering) are Go
// benchmarks in ap and web; docs/benchmarks.md lists every command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const usage = `usage: go run ./bench COMMAND [flags]

commands:
  footprint     binary sizes (amd64, arm64, arm), cold start and idle RSS, with a minimal server as floor
  fanout        one post to 10,000 followers on 500 TLS servers (and with 50 ms answers), with a bare-client floor
  postlatency   kith post → Create in a follower's inbox, through a running kith serve
  inbound       signed Create{Note} from concurrent TLS senders to the shared inbox, with the minimal inbox as floor
  idle          idle RSS of kith serve (100,000 posts): fresh, after a burst, inbound load, a fan-out; with 10 streams
  import        kith import of a Mastodon archive (10,000 posts, 2,000 follows): time and peak RSS of the import process
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "footprint":
		return footprint(ctx, args[1:], stdout)
	case "fanout":
		return fanout(ctx, args[1:], stdout, stderr)
	case fanoutServersCmd: // the child process of fanout
		return fanoutServers(ctx, stdin, stdout)
	case "postlatency":
		return postLatency(ctx, args[1:], stdout)
	case "inbound":
		return inbound(ctx, args[1:], stdout)
	case "idle":
		return idleAfter(ctx, args[1:], stdout)
	case "import":
		return importArchive(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
