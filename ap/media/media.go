// Package media validates and processes the images the owner uploads:
// post attachments, the avatar and the header.
//
// Process identifies the format from the content (JPEG, PNG, GIF or WebP),
// refuses oversized uploads and decompression bombs before decoding, decodes
// the whole image so that a truncated or damaged file is refused, removes
// metadata (EXIF with its GPS position, XMP, comments, text chunks), and adds
// a scaled preview for kith's pages and a blurhash for remote servers.
//
// Per format:
//   - JPEG is re-encoded (quality 88) after the EXIF orientation has been
//     applied to the pixels, so no APPn segment survives except an ICC colour
//     profile that matches the encoded colour space.
//   - PNG keeps its compressed pixel data: the chunk stream is rewritten to
//     IHDR, PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB and iCCP, and the result
//     is what gets decoded and stored. An animated PNG becomes its default
//     image; an orientation in an eXIf chunk is dropped with the chunk.
//   - GIF is decoded frame by frame and re-encoded, keeping the animation
//     (delays, disposal, loop count) and nothing else.
//   - WebP cannot be re-encoded with the standard library or x/image, so the
//     RIFF container is rewritten to VP8X, ICCP, ALPH and the VP8/VP8L image
//     chunk; EXIF, XMP and unknown chunks go, and the VP8X flags and the RIFF
//     size are fixed up. Animated WebP is not supported, and an EXIF
//     orientation in a WebP is not applied (it goes with the EXIF chunk).
package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
)

const (
	// DefaultMaxBytes is the largest upload accepted when Options.MaxBytes
	// is zero: 10 MiB, as honk allows for media.
	DefaultMaxBytes = 10 << 20
	// DefaultMaxPixels is the pixel limit when Options.MaxPixels is zero:
	// 40 megapixels, above phone cameras' usual 12-24 MP. A decoded image
	// of that size takes 60-320 MB depending on its format.
	DefaultMaxPixels = 40_000_000
	// DefaultPreviewSize is the preview box when Options.PreviewSize is
	// zero: wide enough for a page column on a high-density screen.
	DefaultPreviewSize = 800
)

const (
	jpegQuality    = 88 // stored originals: close to what cameras write, far smaller than 95+
	previewQuality = 82 // previews are viewed small, so artefacts are less visible
	blurhashSource = 32 // the blurhash is computed on a copy at most this many pixels wide and high
	blurhashX      = 4
	blurhashY      = 3
)

// Options limits and shapes processing. Zero (or negative) fields take the
// Default constants.
type Options struct {
	// MaxBytes is the largest upload accepted; Process reads at most one
	// byte more than this.
	MaxBytes int64
	// MaxPixels is the largest width*height accepted. It is checked from the
	// header, before anything is decoded, so that a small file claiming a
	// huge canvas is refused without allocating the canvas. The frames of an
	// animated GIF may together have at most 4*MaxPixels pixels.
	MaxPixels int
	// PreviewSize is the side of the box a preview must fit in.
	PreviewSize int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.PreviewSize <= 0 {
		o.PreviewSize = DefaultPreviewSize
	}
	return o
}

// Image is a processed upload.
type Image struct {
	// MediaType is image/jpeg, image/png, image/gif or image/webp, sniffed
	// from the content; a file name or a client's claim is never consulted.
	MediaType string
	// Data is the image to store and serve, without metadata.
	Data []byte
	// Width and Height are the displayed size, after any EXIF orientation
	// was applied (Data needs no orientation metadata to show this way).
	Width, Height int
	// Blurhash has 4x3 components and describes the displayed image (the
	// first frame of an animation).
	Blurhash string
	// Preview is a copy scaled down to fit the PreviewSize box, for pages.
	// It is nil when the image already fits: pages then show Data itself,
	// which is no larger and keeps a GIF's animation.
	Preview []byte
	// PreviewType is image/jpeg, or image/png when the image has any
	// transparency; empty when Preview is nil.
	PreviewType string
	// PreviewWidth and PreviewHeight are the size of Preview, or Width and
	// Height when Preview is nil, so templates can always use them.
	PreviewWidth, PreviewHeight int
}

// Errors returned (possibly wrapped with detail) by Process; test them with
// errors.Is.
var (
	// ErrTooLarge means the upload has more than MaxBytes bytes.
	ErrTooLarge = errors.New("media: file too large")
	// ErrUnsupported means the content is not JPEG, PNG, GIF or WebP, or
	// uses a feature of those formats that is not supported (an animated
	// WebP, a lossless or arithmetic-coded JPEG, a JPEG with over 100 scans).
	ErrUnsupported = errors.New("media: unsupported image format")
	// ErrCorrupt means the content looks like a supported format but does
	// not decode completely, for example because it is truncated.
	ErrCorrupt = errors.New("media: corrupt image")
	// ErrTooManyPixels means the image header claims more than MaxPixels
	// pixels (or, for GIF, too many frame pixels in total).
	ErrTooManyPixels = errors.New("media: image has too many pixels")
)

// Process reads an upload (at most MaxBytes+1 bytes of r) and returns it
// processed. Errors other than the four sentinels come only from r itself.
func Process(r io.Reader, o Options) (*Image, error) {
	o = o.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: reading upload: %w", err)
	}
	if int64(len(data)) > o.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, o.MaxBytes)
	}
	switch sniff(data) {
	case "image/jpeg":
		return processJPEG(data, o)
	case "image/png":
		return processPNG(data, o)
	case "image/gif":
		return processGIF(data, o)
	case "image/webp":
		return processWebP(data, o)
	}
	return nil, ErrUnsupported
}

// sniff names the format from its magic bytes. Unlike
// http.DetectContentType it answers only for the four formats kith accepts.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte(pngSignature)):
		return "image/png"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "image/gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// checkPixels applies MaxPixels to the size announced by a header.
func checkPixels(c image.Config, o Options) error {
	if c.Width <= 0 || c.Height <= 0 {
		return fmt.Errorf("%w: empty image (%dx%d)", ErrCorrupt, c.Width, c.Height)
	}
	if int64(c.Width)*int64(c.Height) > int64(o.MaxPixels) {
		return fmt.Errorf("%w: %dx%d is more than %d pixels", ErrTooManyPixels, c.Width, c.Height, o.MaxPixels)
	}
	return nil
}

// decodeError classifies a decoder's error: the decoders report features
// they lack as UnsupportedError, and everything else means the data is bad.
func decodeError(err error) error {
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	if errors.As(err, &ju) || errors.As(err, &pu) {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// finish fills in the fields derived from the displayed image img: size,
// preview and blurhash. icc, if not nil, is a JPEG APP2 ICC profile to embed
// in a JPEG preview, so that the preview's colours match the original's.
func finish(m *Image, img image.Image, o Options, icc []byte) (*Image, error) {
	b := img.Bounds()
	m.Width, m.Height = b.Dx(), b.Dy()
	m.PreviewWidth, m.PreviewHeight = m.Width, m.Height
	small := img
	if m.Width > o.PreviewSize || m.Height > o.PreviewSize {
		// CatmullRom rather than ApproxBiLinear: x/image/draw widens a
		// kernel's support by the shrink factor, so CatmullRom averages
		// every source pixel and stays sharp, whereas ApproxBiLinear samples
		// only the four nearest source pixels and aliases (moiré, jagged
		// edges) when a photo is shrunk 3-5x. It costs more CPU, but an
		// upload is processed once.
		pw, ph := fit(m.Width, m.Height, o.PreviewSize)
		p := image.NewRGBA(image.Rect(0, 0, pw, ph))
		draw.CatmullRom.Scale(p, p.Bounds(), img, b, draw.Src, nil)
		var buf bytes.Buffer
		if opaque(img) {
			if err := jpeg.Encode(&buf, p, &jpeg.Options{Quality: previewQuality}); err != nil {
				return nil, fmt.Errorf("media: encoding preview: %w", err)
			}
			m.Preview, m.PreviewType = insertAfterSOI(buf.Bytes(), icc), "image/jpeg"
		} else {
			if err := png.Encode(&buf, p); err != nil {
				return nil, fmt.Errorf("media: encoding preview: %w", err)
			}
			m.Preview, m.PreviewType = buf.Bytes(), "image/png"
		}
		m.PreviewWidth, m.PreviewHeight = pw, ph
		small = p
	}
	sb := small.Bounds()
	if sb.Dx() > blurhashSource || sb.Dy() > blurhashSource {
		bw, bh := fit(sb.Dx(), sb.Dy(), blurhashSource)
		t := image.NewRGBA(image.Rect(0, 0, bw, bh))
		draw.CatmullRom.Scale(t, t.Bounds(), small, sb, draw.Src, nil)
		small = t
	}
	m.Blurhash = Blurhash(small, blurhashX, blurhashY)
	return m, nil
}

// fit returns the size of a w x h image scaled down, keeping its aspect
// ratio, to fit a box x box square.
func fit(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, int((int64(h)*int64(box)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(box)+int64(h)/2)/int64(h))), box
}

// opaque reports whether img has no transparent or translucent pixel. Every
// image type the decoders return has an Opaque method; anything else is
// treated as transparent, which only costs a PNG preview instead of a JPEG.
func opaque(img image.Image) bool {
	o, ok := img.(interface{ Opaque() bool })
	return ok && o.Opaque()
}
