// Command kith is a whole fediverse (ActivityPub) home for one person: one
// binary, one SQLite file, its own HTML pages.
//
//	kith serve     run the server (the default command)
//	kith passwd    set the owner's password
//	kith post      publish Markdown from a file or standard input
//	kith follow    follow a remote account; kith unfollow undoes it
//	kith import-blocks  import a domain blocklist
//	kith backup    write a consistent copy of the database
//	kith restore   replace the database with a checked backup
//	kith status    what the server is and how it is doing
//	kith version   print version and build information
//
// Run "kith help" or "kith COMMAND -h" for the flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, "kith:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "kith:", err)
		os.Exit(1)
	}
}
