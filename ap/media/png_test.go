package media

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"slices"
	"testing"
)

func TestPNGStripsMetadata(t *testing.T) {
	src := gradient(120, 80)
	plain := encodePNG(t, src)
	ihdrEnd := 8 + 12 + 13
	secret := []byte("Comment\x00taken at 52.5200N 13.4050E")
	exif := exifSegment(binary.BigEndian, 6)[4+6:] // the TIFF structure of an APP1 Exif segment
	data := slices.Concat(plain[:ihdrEnd],
		pngChunk("gAMA", []byte{0, 0, 0xb1, 0x8f}),
		pngChunk("sRGB", []byte{0}),
		pngChunk("tEXt", secret),
		pngChunk("zTXt", []byte("Author\x00\x00\x78\x9c\x03\x00\x00\x00\x00\x01")),
		pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta/>")),
		pngChunk("eXIf", exif),
		pngChunk("tIME", []byte{0x07, 0xe9, 1, 2, 3, 4, 5}),
		plain[ihdrEnd:],
		[]byte("trailing data after IEND"))

	m, err := Process(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := pngChunkTypes(t, m.Data)
	want := []string{"IHDR", "gAMA", "sRGB"}
	want = append(want, pngChunkTypes(t, plain)[1:]...) // the IDATs and IEND
	if !slices.Equal(got, want) {
		t.Errorf("chunks = %v; want %v", got, want)
	}
	for _, s := range [][]byte{secret, gpsLatitude, []byte("xmpmeta"), []byte("trailing")} {
		if bytes.Contains(m.Data, s) {
			t.Errorf("Data still contains %q", s)
		}
	}
	img, err := png.Decode(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(img, src); d != 0 {
		t.Errorf("pixels differ by up to %d; want 0", d)
	}
}
