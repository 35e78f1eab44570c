package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kith/ap"
	"kith/store/archive"
)

// cmdImport applies one of Mastodon's CSV exports (following, blocks,
// mutes, domain blocks, bookmarks), or a whole Mastodon archive (.zip or
// .tar.gz: its public posts and its CSV exports), telling its progress as
// it goes. A second import of the same file changes nothing.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("import", nil, args, getenv, stderr, "import [flags] FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"import needs a file: a Mastodon archive (.zip, .tar.gz) or one of its CSV exports (" + strings.Join(ap.ExportNames, ", ") + ")"}
	}
	if isArchive(rest[0]) {
		return importArchive(ctx, cfg, rest[0], stdout, stderr)
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
	res, err := svc.ImportCSV(ctx, filepath.Base(rest[0]), f, progressLines(stderr))
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

// progressLines reports progress a line every 100 items: enough to see
// it move, not a flood.
func progressLines(w io.Writer) func(done, total int) {
	return func(done, total int) {
		switch {
		case total <= 0:
			fmt.Fprintf(w, "kith: %d so far\n", done)
		case done%100 == 0 || done == total:
			fmt.Fprintf(w, "kith: %d of %d\n", done, total)
		}
	}
}

// isArchive tells an archive from a CSV file by its name.
func isArchive(name string) bool {
	name = strings.ToLower(name)
	return strings.HasSuffix(name, ".zip") || strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz")
}

// importArchive checks a Mastodon archive whole, then imports it, with
// the code the settings page runs.
func importArchive(ctx context.Context, cfg *config, file string, stdout, stderr io.Writer) error {
	svc, closeDB, err := openService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := svc.ImportArchiveFile(ctx, file, func(p ap.ArchiveProgress) {
		fmt.Fprintf(stderr, "kith: %s", p.Phase)
		if p.Total > 0 || p.Done > 0 {
			fmt.Fprintf(stderr, ": %d of %d", p.Done, p.Total)
		}
		if p.Warnings > 0 {
			fmt.Fprintf(stderr, " (%d images left out)", p.Warnings)
		}
		fmt.Fprintln(stderr)
	})
	if errors.Is(err, archive.ErrRefused) {
		return fmt.Errorf("%s: %w; nothing was imported", file, err)
	} else if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "kith: left out: %s\n", w)
	}
	fmt.Fprintf(stdout, "kith: %d posts imported, %d imported before, %d items skipped (boosts, replies to others, private posts)\n",
		res.Posts, res.Unchanged, res.Skipped)
	fmt.Fprintf(stdout, "kith: %d media files stored (%d KB), %d images left out\n", res.Media, (res.MediaBytes+1023)>>10, res.MediaSkipped)
	if line := res.ImagesLine(); line != "" {
		fmt.Fprintf(stdout, "kith: %s\n", line)
	}
	for _, c := range res.CSV {
		fmt.Fprintf(stdout, "kith: %s: %d rows; %d applied, %d already in place, %d failed\n",
			c.Kind, c.Rows, c.Applied, c.Unchanged, len(c.Failed))
	}
	return nil
}

// cmdExport writes Mastodon's CSV exports and an archive in Mastodon's
// layout into a directory, where another server's import (or kith
// import) reads them.
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
	path := filepath.Join(rest[0], "archive.zip")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = svc.ExportArchive(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stdout, "kith: wrote %s\n", path)
	return nil
}
