package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"

	"golang.org/x/image/draw"
)

// Limits on animated GIFs, which gif.DecodeAll decodes in full: each frame
// is one byte per pixel, and a 1x1 frame with its own transparency costs a
// 4 KiB palette while taking about 25 bytes of the file.
const (
	maxGIFFrames     = 2000
	gifPixelsPerArea = 4 // the frames together may have 4*MaxPixels pixels
)

func processGIF(data []byte, o Options) (*Image, error) {
	c, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(err)
	}
	if err := checkPixels(c, o); err != nil {
		return nil, err
	}
	if err := checkGIFFrames(data, o); err != nil {
		return nil, err
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(err)
	}
	// The decoder keeps the frames, delays, disposal methods, palettes and
	// loop count and skips everything else (comments, XMP and other
	// application extensions, plain text), so encoding it again drops them.
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		return nil, fmt.Errorf("media: encoding GIF: %w", err)
	}
	// A frame may cover only part of the canvas; what a viewer first shows
	// is that frame on an otherwise transparent canvas.
	canvas := image.NewRGBA(image.Rect(0, 0, c.Width, c.Height))
	first := g.Image[0]
	draw.Draw(canvas, first.Rect, first, first.Rect.Min, draw.Src)
	return finish(&Image{MediaType: "image/gif", Data: buf.Bytes()}, canvas, o, nil)
}

// checkGIFFrames applies the frame limits before decoding. It walks the
// blocks the way image/gif does (the same fixed sizes for each extension,
// the same sub-block skipping), so it meets every frame the decoder would
// decode; where the decoder would stop with an error, the walk stops too.
func checkGIFFrames(data []byte, o Options) error {
	const header = 13 // signature, logical screen descriptor
	if len(data) < header {
		return nil
	}
	p := header + colorTableSize(data[10])
	budget := gifPixelsPerArea * int64(o.MaxPixels)
	var frames int
	var pixels int64
	for p < len(data) {
		switch data[p] {
		case 0x21: // extension
			if p+1 >= len(data) {
				return nil
			}
			label := data[p+1]
			p += 2
			switch label {
			case 0xf9: // graphic control: fixed size, terminator included
				p += 6
				continue
			case 0x01: // plain text: 13-byte header, then sub-blocks
				p += 13
			case 0xfe: // comment: sub-blocks only
			case 0xff: // application: sized header, then sub-blocks
				if p >= len(data) {
					return nil
				}
				p += 1 + int(data[p])
			default:
				return nil
			}
			p = skipSubBlocks(data, p)
		case 0x2c: // image descriptor
			if p+10 > len(data) {
				return nil
			}
			w := int64(binary.LittleEndian.Uint16(data[p+5:]))
			h := int64(binary.LittleEndian.Uint16(data[p+7:]))
			frames++
			pixels += w * h
			if frames > maxGIFFrames {
				return fmt.Errorf("%w: GIF has more than %d frames", ErrTooManyPixels, maxGIFFrames)
			}
			if pixels > budget {
				return fmt.Errorf("%w: GIF frames have more than %d pixels in total", ErrTooManyPixels, budget)
			}
			p += 10 + colorTableSize(data[p+9])
			p = skipSubBlocks(data, p+1) // after the LZW minimum code size
		default: // trailer, or a block the decoder refuses
			return nil
		}
	}
	return nil
}

// colorTableSize is the size in bytes of the colour table announced by the
// packed fields of a screen or image descriptor.
func colorTableSize(fields byte) int {
	if fields&0x80 == 0 {
		return 0
	}
	return 3 << (1 + fields&7)
}

// skipSubBlocks returns the offset after the sub-block sequence at p and
// its zero-length terminator, or len(data) if the data ends first.
func skipSubBlocks(data []byte, p int) int {
	for p < len(data) {
		n := int(data[p])
		p++
		if n == 0 {
			return p
		}
		p += n
	}
	return len(data)
}
