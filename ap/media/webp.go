package media

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"golang.org/x/image/webp"
)

// Flags in the first byte of a VP8X chunk.
const (
	vp8xICC       = 1 << 5
	vp8xEXIF      = 1 << 3
	vp8xXMP       = 1 << 2
	vp8xAnimation = 1 << 1
)

func processWebP(data []byte, o Options) (*Image, error) {
	out, err := stripWebP(data)
	if err != nil {
		return nil, err
	}
	// As for PNG, the stripped file is what gets validated and stored.
	c, err := webp.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return nil, decodeError(err)
	}
	if err := checkPixels(c, o); err != nil {
		return nil, err
	}
	img, err := webp.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, decodeError(err)
	}
	return finish(&Image{MediaType: "image/webp", Data: out}, img, o, nil)
}

// stripWebP rewrites a still WebP to its VP8X, ICCP and ALPH chunks and the
// VP8 or VP8L chunk that holds the image, in file order, and stops there:
// EXIF and XMP chunks (which the format places after the image), unknown
// chunks and bytes past the RIFF size are dropped. The VP8X flags are made
// to match the chunks kept and the RIFF size is recomputed. ICCP and ALPH
// are kept only after a VP8X, where the extended format allows them, so the
// result is valid for libwebp as well as for x/image/webp.
func stripWebP(data []byte) ([]byte, error) {
	end := len(data)
	if size := uint64(binary.LittleEndian.Uint32(data[4:])) + 8; size < uint64(end) {
		end = int(size)
	}
	out := make([]byte, 12, len(data)+1)
	copy(out, data[:12])
	vp8x := -1 // offset of the VP8X flags byte in out
	hasICC := false
	for p := 12; ; {
		if end-p < 8 {
			return nil, fmt.Errorf("%w: WebP has no image chunk", ErrCorrupt)
		}
		id := string(data[p : p+4])
		n := uint64(binary.LittleEndian.Uint32(data[p+4:]))
		if n > uint64(end-p-8) {
			return nil, fmt.Errorf("%w: WebP chunk %q runs past the end of the file", ErrCorrupt, id)
		}
		chunk := data[p : p+8+int(n)]
		p += 8 + int(n) + int(n&1)
		switch id {
		case "VP8X":
			if vp8x >= 0 || n != 10 {
				return nil, fmt.Errorf("%w: bad VP8X chunk", ErrCorrupt)
			}
			if chunk[8]&vp8xAnimation != 0 {
				return nil, fmt.Errorf("%w: animated WebP", ErrUnsupported)
			}
			vp8x = len(out) + 8
			out = append(out, chunk...)
		case "ANIM", "ANMF":
			return nil, fmt.Errorf("%w: animated WebP", ErrUnsupported)
		case "ICCP", "ALPH":
			if vp8x >= 0 {
				out = appendChunk(out, chunk)
				hasICC = hasICC || id == "ICCP"
			}
		case "VP8 ", "VP8L":
			out = appendChunk(out, chunk)
			if vp8x >= 0 {
				f := out[vp8x] &^ (vp8xEXIF | vp8xXMP | vp8xICC)
				if hasICC {
					f |= vp8xICC
				}
				out[vp8x] = f
			}
			binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
			return out, nil
		}
	}
}

// appendChunk appends a RIFF chunk and its padding byte, which a file that
// ends with an odd-sized image chunk sometimes lacks.
func appendChunk(out, chunk []byte) []byte {
	out = append(out, chunk...)
	if len(chunk)%2 == 1 {
		out = append(out, 0)
	}
	return out
}
