package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kith/ap"
)

// cmdImport applies one of Mastodon's CSV exports (following, blocks,
// mutes, domain blocks, bookmarks), telling its progress as it goes. A
// second import of the same file changes nothing.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("import", nil, args, getenv, stderr, "import [flags] FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"import needs a file: one of Mastodon's CSV exports (" + strings.Join(ap.ExportNames, ", ") + ")"}
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	// A line every 100 rows: enough to see it move, not a flood.
	progress := func(done, total int) {
		if done%100 == 0 || done == total {
			fmt.Fprintf(stderr, "kith: %d of %d\n", done, total)
		}
	}
	res, err := svc.ImportCSV(ctx, filepath.Base(rest[0]), f, progress)
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	for _, fail := range res.Failed {
		fmt.Fprintf(stderr, "kith: not imported: %s\n", fail)
	}
	fmt.Fprintf(stdout, "kith: %s: %d rows; %d applied, %d already in place, %d failed\n",
		res.Kind, res.Rows, res.Applied, res.Unchanged, len(res.Failed))
	return nil
}

// cmdExport writes Mastodon's CSV exports into a directory, where another
// server's import (or kith import) reads them.
func cmdExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("export", nil, args, getenv, stderr, "export [flags] DIR")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"export needs the directory to write the CSV files into"}
	}
	if err := os.MkdirAll(rest[0], 0o700); err != nil {
		return err
	}
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	for _, name := range ap.ExportNames {
		path := filepath.Join(rest[0], name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		err = svc.ExportCSV(ctx, name, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(stdout, "kith: wrote %s\n", path)
	}
	return nil
}
