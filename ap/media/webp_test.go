package media

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func riffChunk(id string, payload []byte) []byte {
	c := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	c = append(c, payload...)
	if len(payload)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func webpFile(chunks ...[]byte) []byte {
	body := slices.Concat(chunks...)
	f := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	f = append(f, "WEBP"...)
	return append(f, body...)
}

func vp8xChunk(flags byte, w, h int) []byte {
	p := make([]byte, 10)
	p[0] = flags
	p[4], p[5], p[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	p[7], p[8], p[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return riffChunk("VP8X", p)
}

// webpChunks lists the chunks of a WebP file as id and payload.
func webpChunks(tb testing.TB, data []byte) (ids []string, payloads [][]byte) {
	tb.Helper()
	if size := binary.LittleEndian.Uint32(data[4:]); int(size) != len(data)-8 {
		tb.Errorf("RIFF size %d; want %d", size, len(data)-8)
	}
	for p := 12; p+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		ids = append(ids, string(data[p:p+4]))
		payloads = append(payloads, data[p+8:p+8+n])
		p += 8 + n + n%2
	}
	return ids, payloads
}

// vp8lPayload is the VP8L bitstream of a real 75x100 lossless file.
func vp8lPayload(tb testing.TB) []byte {
	ids, payloads := webpChunks(tb, readTestdata(tb, "gopher-doc.1bpp.lossless.webp"))
	if !slices.Equal(ids, []string{"VP8L"}) {
		tb.Fatalf("testdata chunks %v; want [VP8L]", ids)
	}
	return payloads[0]
}

func TestWebPStripsMetadata(t *testing.T) {
	exif := exifSegment(binary.LittleEndian, 6)[4+6:]
	xmp := []byte("<x:xmpmeta>secret</x:xmpmeta>")
	icc := iccSegment("RGB ")[4+14:]

	lossless := readTestdata(t, "gopher-doc.1bpp.lossless.webp")
	_, alphaChunks := webpChunks(t, readTestdata(t, "yellow_rose.lossy-with-alpha.webp"))
	// The odd-sized VP8L chunk without the padding byte its file has.
	unpadded := bytes.Clone(lossless[:len(lossless)-1])
	binary.LittleEndian.PutUint32(unpadded[4:], uint32(len(unpadded)-8))

	tests := []struct {
		name      string
		data      []byte
		reference []byte // a file with the same pixels
		wantIDs   []string
		wantFlags byte
	}{
		{
			name: "lossless with EXIF, XMP, ICC and an unknown chunk",
			data: webpFile(
				vp8xChunk(vp8xEXIF|vp8xXMP, 75, 100), // ICC flag missing: it is set to match
				riffChunk("ICCP", icc),
				riffChunk("VP8L", vp8lPayload(t)),
				riffChunk("EXIF", exif),
				riffChunk("XMP ", xmp),
				riffChunk("kith", []byte("unknown"))),
			reference: lossless,
			wantIDs:   []string{"VP8X", "ICCP", "VP8L"},
			wantFlags: vp8xICC,
		},
		{
			name: "lossy with alpha, EXIF and XMP",
			data: webpFile(
				vp8xChunk(alphaChunks[0][0]|vp8xEXIF|vp8xXMP|vp8xICC, 400, 301), // ICC flag without a chunk: cleared
				riffChunk("ALPH", alphaChunks[1]),
				riffChunk("VP8 ", alphaChunks[2]),
				riffChunk("EXIF", exif),
				riffChunk("XMP ", xmp)),
			reference: readTestdata(t, "yellow_rose.lossy-with-alpha.webp"),
			wantIDs:   []string{"VP8X", "ALPH", "VP8 "},
			wantFlags: alphaChunks[0][0],
		},
		{
			name:      "simple format with trailing bytes",
			data:      append(bytes.Clone(lossless), "trailing"...),
			reference: lossless,
			wantIDs:   []string{"VP8L"},
		},
		{
			name:      "missing final padding byte",
			data:      unpadded,
			reference: lossless,
			wantIDs:   []string{"VP8L"},
		},
		{
			name:      "ICCP without VP8X is dropped",
			data:      webpFile(riffChunk("ICCP", icc), riffChunk("VP8L", vp8lPayload(t))),
			reference: lossless,
			wantIDs:   []string{"VP8L"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Process(bytes.NewReader(tt.data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			ids, payloads := webpChunks(t, m.Data)
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("chunks = %q; want %q", ids, tt.wantIDs)
			}
			if ids[0] == "VP8X" && payloads[0][0] != tt.wantFlags {
				t.Errorf("VP8X flags = %#x; want %#x", payloads[0][0], tt.wantFlags)
			}
			for _, s := range [][]byte{exif, xmp, []byte("unknown"), []byte("trailing")} {
				if bytes.Contains(m.Data, s) {
					t.Errorf("Data still contains %.20q", s)
				}
			}
			if d := maxDiff(decodeWebP(t, m.Data), decodeWebP(t, tt.reference)); d != 0 {
				t.Errorf("pixels differ from the original by up to %d; want 0", d)
			}
		})
	}
}
