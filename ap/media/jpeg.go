package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// maxJPEGScans bounds the scans of a JPEG. image/jpeg walks every block of
// the image once per scan, and a progressive scan can be a dozen bytes of
// end-of-band runs, so a 10 MiB file of tiny scans over a large canvas
// would take minutes to decode. Encoders write about 10 progressive scans;
// libjpeg-turbo offers a similar cap (djpeg -maxscans).
const maxJPEGScans = 100

// jpegMeta is what processJPEG needs from the segments of a JPEG.
type jpegMeta struct {
	orientation int    // EXIF Orientation, 1-8; 0 when absent
	icc         []byte // the APP2 ICC_PROFILE segments, markers included, in file order
	iccSpace    string // the profile's data colour space, e.g. "RGB " or "GRAY"
	scans       int    // an upper bound on the SOS markers a decoder can meet
}

// readJPEGMeta walks the segments before the first scan. The walk mirrors
// image/jpeg's own loop (it skips stray bytes and fill bytes the same way),
// so up to the first SOS both see the same markers. Later SOS markers are not
// found by walking: every one must appear in the file as the bytes FF DA, so
// counting those bounds the scans whatever the decoder does in between.
// Malformed segments end the walk; the decoder then decides.
func readJPEGMeta(data []byte) jpegMeta {
	var m jpegMeta
	p := 2 // after SOI
	for {
		for p < len(data) && data[p] != 0xff {
			p++
		}
		if p+1 >= len(data) {
			return m
		}
		marker := data[p+1]
		p += 2
		if marker == 0 {
			continue
		}
		for marker == 0xff {
			if p >= len(data) {
				return m
			}
			marker = data[p]
			p++
		}
		if marker == 0xd9 { // EOI
			return m
		}
		if 0xd0 <= marker && marker <= 0xd7 { // RSTn carry no length
			continue
		}
		if p+2 > len(data) {
			return m
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return m
		}
		seg := data[p+2 : p+n]
		switch marker {
		case 0xda: // SOS
			m.scans = 1 + bytes.Count(data[p:], []byte{0xff, 0xda})
			return m
		case 0xe1: // APP1
			if m.orientation == 0 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
				m.orientation = exifOrientation(seg[6:])
			}
		case 0xe2: // APP2: ICC_PROFILE, sequence number (from 1), count, data
			if bytes.HasPrefix(seg, []byte("ICC_PROFILE\x00")) {
				m.icc = append(m.icc, data[p-2:p+n]...)
				// The profile header's bytes 16-19 name its colour space.
				if len(seg) >= 14+20 && seg[12] == 1 {
					m.iccSpace = string(seg[14+16 : 14+20])
				}
			}
		}
		p += n
	}
}

// exifOrientation returns the Orientation tag (0x0112) of IFD0 in a TIFF
// structure, or 0 when it is missing or invalid.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := uint64(bo.Uint32(tiff[4:]))
	if ifd+2 > uint64(len(tiff)) {
		return 0
	}
	entries := uint64(bo.Uint16(tiff[ifd:]))
	for i := range entries {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(tiff)) {
			return 0
		}
		if bo.Uint16(tiff[e:]) != 0x0112 {
			continue
		}
		// Type SHORT (3), count 1: the value sits in the first two bytes
		// of the value field.
		if bo.Uint16(tiff[e+2:]) != 3 || bo.Uint32(tiff[e+4:]) != 1 {
			return 0
		}
		if v := int(bo.Uint16(tiff[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

func processJPEG(data []byte, o Options) (*Image, error) {
	meta := readJPEGMeta(data)
	c, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(err)
	}
	if err := checkPixels(c, o); err != nil {
		return nil, err
	}
	if meta.scans > maxJPEGScans {
		return nil, fmt.Errorf("%w: JPEG with more than %d scans", ErrUnsupported, maxJPEGScans)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(err)
	}

	// Keep an ICC profile only where it describes what is encoded: the
	// encoder writes one grey or three YCbCr components, and a CMYK image
	// has been converted to RGB without its profile.
	var dataICC, previewICC []byte
	_, gray := img.(*image.Gray)
	_, cmyk := img.(*image.CMYK)
	switch {
	case meta.iccSpace == "RGB " && !gray && !cmyk:
		dataICC, previewICC = meta.icc, meta.icc
	case meta.iccSpace == "GRAY" && gray:
		dataICC = meta.icc // previews are always colour
	}

	img = orient(img, meta.orientation)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, fmt.Errorf("media: encoding JPEG: %w", err)
	}
	m := &Image{MediaType: "image/jpeg", Data: insertAfterSOI(buf.Bytes(), dataICC)}
	return finish(m, img, o, previewICC)
}

// insertAfterSOI returns the JPEG jpg with the segments segs placed right
// after its SOI marker (image/jpeg's encoder writes no APPn of its own).
func insertAfterSOI(jpg, segs []byte) []byte {
	if len(segs) == 0 {
		return jpg
	}
	out := make([]byte, 0, len(jpg)+len(segs))
	out = append(out, jpg[:2]...)
	out = append(out, segs...)
	return append(out, jpg[2:]...)
}

// orient returns src transformed as the EXIF orientation o says it must be
// for display: 2 mirrors it, 3 turns it 180°, 4 flips it, 5 transposes it,
// 6 turns it 90° clockwise, 7 transverses it and 8 turns it 90°
// anticlockwise. Other values leave src as it is. Grey images stay grey;
// everything else becomes RGBA, converted one row at a time so that only the
// result is allocated in full.
func orient(src image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.Rect(0, 0, w, h)
	if o >= 5 {
		dst = image.Rect(0, 0, h, w)
	}
	if g, ok := src.(*image.Gray); ok {
		out := image.NewGray(dst)
		for y := range h {
			i := g.PixOffset(b.Min.X, b.Min.Y+y)
			scatterRow(out.Pix, out.Stride, 1, g.Pix[i:i+w], o, y, w, h)
		}
		return out
	}
	out := image.NewRGBA(dst)
	row := image.NewRGBA(image.Rect(0, 0, w, 1))
	for y := range h {
		draw.Draw(row, row.Rect, src, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		scatterRow(out.Pix, out.Stride, 4, row.Pix, o, y, w, h)
	}
	return out
}

// scatterRow copies row y of a w x h source (w pixels of bpp bytes each) to
// the places orientation o moves it to in dst. A source row always lands on
// a straight line of dst, so one start offset and one step describe it.
func scatterRow(dst []byte, stride, bpp int, row []byte, o, y, w, h int) {
	var off, step int
	switch o {
	case 2: // (x, y) -> (w-1-x, y)
		off, step = y*stride+(w-1)*bpp, -bpp
	case 3: // (x, y) -> (w-1-x, h-1-y)
		off, step = (h-1-y)*stride+(w-1)*bpp, -bpp
	case 4: // (x, y) -> (x, h-1-y)
		off, step = (h-1-y)*stride, bpp
	case 5: // (x, y) -> (y, x)
		off, step = y*bpp, stride
	case 6: // (x, y) -> (h-1-y, x)
		off, step = (h-1-y)*bpp, stride
	case 7: // (x, y) -> (h-1-y, w-1-x)
		off, step = (w-1)*stride+(h-1-y)*bpp, -stride
	case 8: // (x, y) -> (y, w-1-x)
		off, step = (w-1)*stride+y*bpp, -stride
	}
	for x := range w {
		copy(dst[off:off+bpp], row[x*bpp:])
		off += step
	}
}
