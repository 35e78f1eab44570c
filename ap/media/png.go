package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/png"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// keepPNGChunk reports whether a chunk type survives stripping: the chunks
// that carry the pixels and how their colours are to be shown. Text (tEXt,
// zTXt, iTXt), eXIf, tIME, the APNG animation chunks and all unknown chunks
// are dropped.
func keepPNGChunk(typ string) bool {
	switch typ {
	case "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP":
		return true
	}
	return false
}

// stripPNG rewrites the chunk stream of a PNG to the chunks keepPNGChunk
// allows, up to and including IEND; anything after IEND goes too. Chunk CRCs
// are left for the decoder, which checks every chunk it reads.
func stripPNG(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	out = append(out, pngSignature...)
	p := len(pngSignature)
	for {
		if len(data)-p < 12 {
			return nil, fmt.Errorf("%w: PNG ends before IEND", ErrCorrupt)
		}
		n := uint64(binary.BigEndian.Uint32(data[p:]))
		if n > uint64(len(data)-p-12) {
			return nil, fmt.Errorf("%w: PNG chunk runs past the end of the file", ErrCorrupt)
		}
		end := p + 12 + int(n)
		typ := string(data[p+4 : p+8])
		if keepPNGChunk(typ) {
			out = append(out, data[p:end]...)
		}
		if typ == "IEND" {
			return out, nil
		}
		p = end
	}
}

func processPNG(data []byte, o Options) (*Image, error) {
	out, err := stripPNG(data)
	if err != nil {
		return nil, err
	}
	// Decoding what is stored, rather than the upload, means the stored
	// file is the one that was validated.
	c, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return nil, decodeError(err)
	}
	if err := checkPixels(c, o); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, decodeError(err)
	}
	return finish(&Image{MediaType: "image/png", Data: out}, img, o, nil)
}
