package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// gradient returns a w x h opaque image whose colour varies across it, so
// that scaling and orientation mistakes change the pixels.
func gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), 128, 255})
		}
	}
	return m
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(tb testing.TB, g *gif.GIF) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var gifPalette = color.Palette{
	color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255},
	color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255},
	color.RGBA{},
}

// animation returns frames GIF frames on a w x h canvas; the first covers
// only the left half when partial is set, leaving the rest transparent.
func animation(w, h, frames int, partial bool) *gif.GIF {
	g := &gif.GIF{LoopCount: 0, Config: image.Config{ColorModel: gifPalette, Width: w, Height: h}}
	for i := range frames {
		r := image.Rect(0, 0, w, h)
		if partial && i == 0 {
			r.Max.X = w / 2
		}
		f := image.NewPaletted(r, gifPalette)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				f.SetColorIndex(x, y, uint8((x/16+y/16+i)%4))
			}
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10*(i+1))
		g.Disposal = append(g.Disposal, gif.DisposalNone)
	}
	return g
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngChunkTypes lists the chunk types of a PNG in order.
func pngChunkTypes(tb testing.TB, data []byte) []string {
	tb.Helper()
	var types []string
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		types = append(types, string(data[p+4:p+8]))
		p += 12 + n
	}
	return types
}

func TestProcessRoundTrip(t *testing.T) {
	transparent := image.NewNRGBA(image.Rect(0, 0, 500, 1000))
	draw.Draw(transparent, transparent.Rect, gradient(500, 1000), image.Point{}, draw.Src)
	for y := range 500 { // top half translucent
		for x := range 500 {
			transparent.Pix[transparent.PixOffset(x, y)+3] = 100
		}
	}
	tests := []struct {
		name        string
		data        []byte
		o           Options
		mediaType   string
		w, h        int
		previewType string // "" when no preview is expected
		pw, ph      int
		exact       image.Image // when set, Data must decode to exactly these pixels
	}{
		{"jpeg", encodeJPEG(t, gradient(1200, 900)), Options{}, "image/jpeg", 1200, 900, "image/jpeg", 800, 600, nil},
		{"jpeg fits box", encodeJPEG(t, gradient(300, 200)), Options{}, "image/jpeg", 300, 200, "", 300, 200, nil},
		{"jpeg progressive", readTestdata(t, "video-001.progressive.jpeg"), Options{PreviewSize: 100}, "image/jpeg", 150, 103, "image/jpeg", 100, 69, nil},
		{"jpeg cmyk", readTestdata(t, "video-001.cmyk.jpeg"), Options{PreviewSize: 75}, "image/jpeg", 150, 103, "image/jpeg", 75, 52, nil},
		{"png opaque", encodePNG(t, gradient(1000, 400)), Options{}, "image/png", 1000, 400, "image/jpeg", 800, 320, gradient(1000, 400)},
		{"png translucent", encodePNG(t, transparent), Options{}, "image/png", 500, 1000, "image/png", 400, 800, transparent},
		{"gif opaque", encodeGIF(t, animation(900, 300, 3, false)), Options{}, "image/gif", 900, 300, "image/jpeg", 800, 267, nil},
		{"gif first frame partial", encodeGIF(t, animation(300, 900, 2, true)), Options{PreviewSize: 300}, "image/gif", 300, 900, "image/png", 100, 300, nil},
		{"gif fits box", encodeGIF(t, animation(64, 48, 2, false)), Options{}, "image/gif", 64, 48, "", 64, 48, nil},
		{"webp lossless", readTestdata(t, "gopher-doc.1bpp.lossless.webp"), Options{PreviewSize: 50}, "image/webp", 75, 100, "image/jpeg", 38, 50, nil},
		{"webp lossy", readTestdata(t, "video-001.lossy.webp"), Options{}, "image/webp", 150, 103, "", 150, 103, nil},
		{"webp alpha", readTestdata(t, "yellow_rose.lossy-with-alpha.webp"), Options{PreviewSize: 200}, "image/webp", 400, 301, "image/png", 200, 151, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Process(bytes.NewReader(tt.data), tt.o)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if m.MediaType != tt.mediaType {
				t.Errorf("MediaType = %q; want %q", m.MediaType, tt.mediaType)
			}
			if m.Width != tt.w || m.Height != tt.h {
				t.Errorf("size = %dx%d; want %dx%d", m.Width, m.Height, tt.w, tt.h)
			}
			img, format, err := image.Decode(bytes.NewReader(m.Data))
			if err != nil {
				t.Fatalf("decoding Data: %v", err)
			}
			if "image/"+format != tt.mediaType {
				t.Errorf("Data decodes as %s; want %s", format, tt.mediaType)
			}
			// The canvas size: image.Decode returns a GIF's first frame,
			// which may be smaller.
			c, _, err := image.DecodeConfig(bytes.NewReader(m.Data))
			if err != nil || c.Width != tt.w || c.Height != tt.h {
				t.Errorf("Data is %dx%d (%v); want %dx%d", c.Width, c.Height, err, tt.w, tt.h)
			}
			if tt.exact != nil {
				if d := maxDiff(img, tt.exact); d != 0 {
					t.Errorf("Data pixels differ from the source by up to %d; want 0", d)
				}
			}
			if len(m.Blurhash) != 4+2*4*3 {
				t.Errorf("Blurhash %q has %d chars; want 28", m.Blurhash, len(m.Blurhash))
			}
			if m.PreviewWidth != tt.pw || m.PreviewHeight != tt.ph {
				t.Errorf("preview size = %dx%d; want %dx%d", m.PreviewWidth, m.PreviewHeight, tt.pw, tt.ph)
			}
			if tt.previewType == "" {
				if m.Preview != nil || m.PreviewType != "" {
					t.Errorf("got a %q preview of %d bytes; want none", m.PreviewType, len(m.Preview))
				}
				return
			}
			if m.PreviewType != tt.previewType {
				t.Errorf("PreviewType = %q; want %q", m.PreviewType, tt.previewType)
			}
			p, format, err := image.Decode(bytes.NewReader(m.Preview))
			if err != nil {
				t.Fatalf("decoding Preview: %v", err)
			}
			if "image/"+format != tt.previewType {
				t.Errorf("Preview decodes as %s; want %s", format, tt.previewType)
			}
			pb := p.Bounds()
			box := tt.o.withDefaults().PreviewSize
			if pb.Dx() != m.PreviewWidth || pb.Dy() != m.PreviewHeight {
				t.Errorf("Preview is %dx%d; want the announced %dx%d", pb.Dx(), pb.Dy(), m.PreviewWidth, m.PreviewHeight)
			}
			if pb.Dx() > box || pb.Dy() > box || max(pb.Dx(), pb.Dy()) != box {
				t.Errorf("Preview %dx%d does not fill the %d box", pb.Dx(), pb.Dy(), box)
			}
			// Same aspect ratio up to rounding the short side to a whole pixel.
			if d := abs(pb.Dx()*tt.h - pb.Dy()*tt.w); 2*d > max(tt.w, tt.h) {
				t.Errorf("Preview %dx%d has not the aspect ratio of %dx%d", pb.Dx(), pb.Dy(), tt.w, tt.h)
			}
		})
	}
}

// TestPreviewMatchesImage checks that the preview shows the image, not just
// something of the right size: each preview pixel is close to the source
// pixel it was scaled from.
func TestPreviewMatchesImage(t *testing.T) {
	src := gradient(1600, 1000)
	m, err := Process(bytes.NewReader(encodePNG(t, src)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := jpeg.Decode(bytes.NewReader(m.Preview))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range []image.Point{{10, 10}, {400, 250}, {790, 490}} {
		got := color.RGBAModel.Convert(p.At(pt.X, pt.Y)).(color.RGBA)
		want := src.RGBAAt(pt.X*2, pt.Y*2)
		if d := colorDiff(got, want); d > 10 {
			t.Errorf("preview pixel %v = %v; want about %v", pt, got, want)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func colorDiff(a, b color.RGBA) int {
	return max(abs(int(a.R)-int(b.R)), abs(int(a.G)-int(b.G)), abs(int(a.B)-int(b.B)), abs(int(a.A)-int(b.A)))
}

// maxDiff is the largest difference of any 8-bit channel of two images of
// the same size, compared as non-premultiplied colours.
func maxDiff(a, b image.Image) int {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 256
	}
	d := 0
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			ca := color.NRGBAModel.Convert(a.At(ab.Min.X+x, ab.Min.Y+y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(bb.Min.X+x, bb.Min.Y+y)).(color.NRGBA)
			d = max(d, colorDiff(color.RGBA(ca), color.RGBA(cb)))
		}
	}
	return d
}

func TestProcessErrors(t *testing.T) {
	pngData := encodePNG(t, gradient(64, 64))
	jpegData := encodeJPEG(t, gradient(64, 64))
	gifData := encodeGIF(t, animation(64, 64, 2, false))
	webpData := readTestdata(t, "video-001.lossy.webp")
	badCRC := bytes.Clone(pngData)
	badCRC[len(badCRC)-20] ^= 0xff // inside the IDAT chunk
	animated := webpFile(vp8xChunk(vp8xAnimation, 150, 103), riffChunk("ANIM", make([]byte, 6)))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrUnsupported},
		{"text", []byte("hello, this is not an image\n"), ErrUnsupported},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), ErrUnsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrUnsupported},
		{"bmp", []byte("BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"), ErrUnsupported},
		{"png signature only", pngData[:8], ErrCorrupt},
		{"png truncated in IDAT", pngData[:len(pngData)/2], ErrCorrupt},
		{"png without IEND", pngData[:len(pngData)-12], ErrCorrupt},
		{"png bad CRC", badCRC, ErrCorrupt},
		{"jpeg SOI only", jpegData[:3], ErrCorrupt},
		{"jpeg truncated in scan", jpegData[:len(jpegData)/2], ErrCorrupt},
		{"jpeg without EOI", jpegData[:len(jpegData)-2], ErrCorrupt},
		{"gif truncated", gifData[:len(gifData)/2], ErrCorrupt},
		{"gif header only", gifData[:13], ErrCorrupt},
		{"webp truncated", webpData[:len(webpData)/2], ErrCorrupt},
		{"webp header only", webpData[:12], ErrCorrupt},
		{"webp animated", animated, ErrUnsupported},
		{"jpeg lossless (SOF3)", []byte("\xff\xd8\xff\xc3\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x11\x00\xff\xd9"), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Process(bytes.NewReader(tt.data), Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Process error = %v (image %v); want %v", err, m != nil, tt.want)
			}
			if m != nil {
				t.Errorf("got an image with the error %v; want nil", err)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is an upload that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

func TestProcessTooLarge(t *testing.T) {
	const limit = 10_000
	r := &countingReader{r: endless{}}
	_, err := Process(r, Options{MaxBytes: limit})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Process error = %v; want %v", err, ErrTooLarge)
	}
	if r.n != limit+1 {
		t.Errorf("Process read %d bytes; want %d (MaxBytes+1)", r.n, limit+1)
	}

	// An upload of exactly MaxBytes is accepted, one byte more is not.
	data := encodePNG(t, gradient(40, 30))
	if _, err := Process(bytes.NewReader(data), Options{MaxBytes: int64(len(data))}); err != nil {
		t.Errorf("Process of exactly MaxBytes: %v; want success", err)
	}
	if _, err := Process(bytes.NewReader(data), Options{MaxBytes: int64(len(data) - 1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Process of MaxBytes+1: %v; want %v", err, ErrTooLarge)
	}
}

func TestProcessReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Process(io.MultiReader(bytes.NewReader([]byte("\x89PNG")), iotest.ErrReader(boom)), Options{})
	if !errors.Is(err, boom) {
		t.Errorf("Process error = %v; want it to wrap %v", err, boom)
	}
}

// bombs are small files whose headers claim huge canvases.
func bombs(tb testing.TB) map[string][]byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100_000)
	binary.BigEndian.PutUint32(ihdr[4:], 100_000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	var p []byte
	p = append(p, pngSignature...)
	p = append(p, pngChunk("IHDR", ihdr)...)
	p = append(p, pngChunk("IDAT", []byte("\x78\x9c\x03\x00\x00\x00\x00\x01"))...)
	p = append(p, pngChunk("IEND", nil)...)

	// SOF0 65500x65500, three components, then an SOS header.
	j := []byte("\xff\xd8" +
		"\xff\xc0\x00\x11\x08\xff\xdc\xff\xdc\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01" +
		"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00" +
		"\x00\x00\xff\xd9")

	// A 65535x65535 logical screen with one 1x1 frame.
	g := []byte("GIF89a\xff\xff\xff\xff\x80\x00\x00" + "\x00\x00\x00\xff\xff\xff" +
		"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00" + "\x3b")

	// A VP8X canvas of 16384x16384 around a 75x100 VP8L image.
	w := webpFile(vp8xChunk(0, 16384, 16384), riffChunk("VP8L", vp8lPayload(tb)))

	// 50 full frames of 100x100 on a 100x100 canvas: each frame is within
	// MaxPixels = 10000, but all together are 12.5 times it.
	frames := encodeGIF(tb, animation(100, 100, 50, false))

	// 2001 frames of 1x1.
	many := encodeGIF(tb, animation(1, 1, maxGIFFrames+1, false))
	return map[string][]byte{"png": p, "jpeg": j, "gif": g, "webp": w, "gif frames": frames, "gif frame count": many}
}

func TestProcessTooManyPixels(t *testing.T) {
	for name, data := range bombs(t) {
		t.Run(name, func(t *testing.T) {
			o := Options{}
			if name == "gif frames" {
				o.MaxPixels = 100 * 100
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Process(bytes.NewReader(data), o)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("Process error = %v; want %v", err, ErrTooManyPixels)
			}
			// Refused from the header: a decoded canvas would be gigabytes.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("Process allocated %d bytes; want under 4 MiB", alloc)
			}
			if elapsed > 2*time.Second {
				t.Errorf("Process took %v; want it to refuse at once", elapsed)
			}
		})
	}
}

// BenchmarkProcess processes a 2000x1500 photo-like JPEG (smooth gradient
// plus noise, so the encoder has detail to work on).
func BenchmarkProcess(b *testing.B) {
	img := gradient(2000, 1500)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		if i%4 != 3 {
			img.Pix[i] = uint8(min(255, max(0, int(img.Pix[i])+rng.IntN(41)-20)))
		}
	}
	data := encodeJPEG(b, img)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Process(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// decodeWebP is webp.Decode for tests.
func decodeWebP(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, err := webp.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("webp.Decode: %v", err)
	}
	return img
}
