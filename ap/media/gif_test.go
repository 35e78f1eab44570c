package media

import (
	"bytes"
	"errors"
	"image/gif"
	"slices"
	"testing"
)

func TestGIFStripsMetadata(t *testing.T) {
	src := animation(48, 32, 3, false)
	src.LoopCount = 2
	plain := encodeGIF(t, src)
	comment := []byte("shot at home, 52.52N 13.40E")
	xmp := []byte("<x:xmpmeta>secret</x:xmpmeta>")
	ext := slices.Concat(
		[]byte{0x21, 0xfe, byte(len(comment))}, comment, []byte{0},
		[]byte("\x21\xff\x0bXMP DataXMP"), []byte{byte(len(xmp))}, xmp, []byte{0})
	at := 13 + colorTableSize(plain[10]) // after the global colour table
	data := slices.Concat(plain[:at], ext, plain[at:])

	m, err := Process(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{comment, xmp, []byte("XMP Data")} {
		if bytes.Contains(m.Data, s) {
			t.Errorf("Data still contains %q", s)
		}
	}
	g, err := gif.DecodeAll(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(src.Image) {
		t.Fatalf("%d frames; want %d", len(g.Image), len(src.Image))
	}
	if g.LoopCount != src.LoopCount {
		t.Errorf("LoopCount = %d; want %d", g.LoopCount, src.LoopCount)
	}
	if !slices.Equal(g.Delay, src.Delay) {
		t.Errorf("delays = %v; want %v", g.Delay, src.Delay)
	}
	for i, f := range g.Image {
		if d := maxDiff(f, src.Image[i]); d != 0 {
			t.Errorf("frame %d differs by up to %d; want 0", i, d)
		}
	}
}

func TestGIFFrameLimits(t *testing.T) {
	tests := []struct {
		name      string
		g         *gif.GIF
		maxPixels int
		want      error
	}{
		{"frames within 4x MaxPixels", animation(10, 10, 4, false), 100, nil},
		{"frames over 4x MaxPixels", animation(10, 10, 5, false), 100, ErrTooManyPixels},
		{"frame count at the limit", animation(1, 1, maxGIFFrames, false), 0, nil},
		{"frame count over the limit", animation(1, 1, maxGIFFrames+1, false), 0, ErrTooManyPixels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Process(bytes.NewReader(encodeGIF(t, tt.g)), Options{MaxPixels: tt.maxPixels})
			if !errors.Is(err, tt.want) {
				t.Errorf("Process error = %v; want %v", err, tt.want)
			}
		})
	}
}
