package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzProcess feeds arbitrary bytes to Process with tight limits. Process
// must not panic, must not take long, must fail only with one of its
// sentinel errors, and on success must return a consistent image.
func FuzzProcess(f *testing.F) {
	f.Add(encodePNG(f, gradient(20, 12)))
	f.Add(encodeJPEG(f, gradient(20, 12)))
	q := encodeJPEG(f, quadrants())
	f.Add(slices.Concat(q[:2], exifSegment(binary.LittleEndian, 6), q[2:]))
	f.Add(encodeGIF(f, animation(20, 12, 2, true)))
	files, _ := filepath.Glob("testdata/*.webp")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range bombs(f) {
		if len(b) < 1<<15 {
			f.Add(b)
		}
	}
	o := Options{MaxBytes: 1 << 16, MaxPixels: 1 << 16, PreviewSize: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		m, err := Process(bytes.NewReader(data), o)
		// Inputs are at most 64 KiB and 65536 pixels, which take a few
		// milliseconds; the bound is loose so that a loaded machine passes,
		// but a decompression or scan bomb does not.
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Process took %v", d)
		}
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) &&
				!errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("Process error %v is none of the sentinels", err)
			}
			return
		}
		if m.Width <= 0 || m.Height <= 0 || m.Width*m.Height > o.MaxPixels {
			t.Fatalf("size %dx%d outside 1..%d pixels", m.Width, m.Height, o.MaxPixels)
		}
		c, format, err := image.DecodeConfig(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("Data does not decode: %v", err)
		}
		if "image/"+format != m.MediaType || c.Width != m.Width || c.Height != m.Height {
			t.Fatalf("Data is %s %dx%d; want %s %dx%d", format, c.Width, c.Height, m.MediaType, m.Width, m.Height)
		}
		if len(m.Blurhash) != 28 {
			t.Fatalf("Blurhash %q; want 28 chars", m.Blurhash)
		}
		if m.Preview != nil {
			p, _, err := image.DecodeConfig(bytes.NewReader(m.Preview))
			if err != nil {
				t.Fatalf("Preview does not decode: %v", err)
			}
			if p.Width != m.PreviewWidth || p.Height != m.PreviewHeight || max(p.Width, p.Height) != o.PreviewSize {
				t.Fatalf("Preview %dx%d; want %dx%d in a %d box", p.Width, p.Height, m.PreviewWidth, m.PreviewHeight, o.PreviewSize)
			}
		}
	})
}
