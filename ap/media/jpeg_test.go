package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"
)

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// quadrants returns a 64x32 image: red top left, green top right, blue
// bottom left, white bottom right. Quadrant edges fall on 16-pixel MCU
// boundaries so that JPEG chroma subsampling does not blur the corners.
func quadrants() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			c := [2][2]color.RGBA{{red, green}, {blue, white}}[y/16][x/32]
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// gpsLatitude is the RATIONAL[3] value 52/1, 31/1, 1234/100 of the test's
// GPSLatitude tag, big-endian; it must not survive processing.
var gpsLatitude = []byte{0, 0, 0, 52, 0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 1, 0, 0, 4, 210, 0, 0, 0, 100}

// exifSegment builds an APP1 Exif segment whose IFD0 holds Orientation and
// a pointer to a GPS IFD with GPSLatitudeRef "N" and GPSLatitude.
func exifSegment(bo binary.ByteOrder, orientation int) []byte {
	t := make([]byte, 92)
	if bo == binary.LittleEndian {
		copy(t, "II*\x00")
	} else {
		copy(t, "MM\x00*")
	}
	entry := func(at int, tag, typ uint16, count uint32) {
		bo.PutUint16(t[at:], tag)
		bo.PutUint16(t[at+2:], typ)
		bo.PutUint32(t[at+4:], count)
	}
	bo.PutUint32(t[4:], 8) // IFD0 at 8
	bo.PutUint16(t[8:], 2)
	entry(10, 0x0112, 3, 1) // Orientation, SHORT
	bo.PutUint16(t[18:], uint16(orientation))
	entry(22, 0x8825, 4, 1) // GPSInfo IFD pointer, LONG
	bo.PutUint32(t[30:], 38)
	bo.PutUint16(t[38:], 2) // GPS IFD at 38
	entry(40, 0x0001, 2, 2) // GPSLatitudeRef, ASCII "N\0"
	t[48] = 'N'
	entry(52, 0x0002, 5, 3) // GPSLatitude, RATIONAL[3] at 68
	bo.PutUint32(t[60:], 68)
	for i := range 6 {
		bo.PutUint32(t[68+4*i:], binary.BigEndian.Uint32(gpsLatitude[4*i:]))
	}
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	return append(seg, payload...)
}

// jpegMarkers lists the markers of a JPEG up to and including the first SOS.
func jpegMarkers(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var ms []byte
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xff {
			tb.Fatalf("no marker at offset %d", p)
		}
		m := data[p+1]
		ms = append(ms, m)
		if m == 0xda {
			break
		}
		p += 2 + int(binary.BigEndian.Uint16(data[p+2:]))
	}
	return ms
}

func TestJPEGOrientation(t *testing.T) {
	src := encodeJPEG(t, quadrants())
	// Corners as displayed (top left, top right, bottom left, bottom right)
	// for each Orientation value, from the EXIF 2.3 definition of the tag:
	// the source's red/green/blue/white corners move as the tag says.
	tests := []struct {
		orientation int
		swapped     bool
		corners     [4]color.RGBA
	}{
		{1, false, [4]color.RGBA{red, green, blue, white}},
		{2, false, [4]color.RGBA{green, red, white, blue}}, // mirrored
		{3, false, [4]color.RGBA{white, blue, green, red}}, // turned 180°
		{4, false, [4]color.RGBA{blue, white, red, green}}, // flipped
		{5, true, [4]color.RGBA{red, blue, green, white}},  // transposed
		{6, true, [4]color.RGBA{blue, red, white, green}},  // turned 90° clockwise
		{7, true, [4]color.RGBA{white, green, blue, red}},  // transversed
		{8, true, [4]color.RGBA{green, white, red, blue}},  // turned 90° anticlockwise
		{9, false, [4]color.RGBA{red, green, blue, white}}, // invalid: ignored
		{0, false, [4]color.RGBA{red, green, blue, white}}, // invalid: ignored
	}
	for _, tt := range tests {
		for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			t.Run(bo.String()+"/"+string(rune('0'+tt.orientation)), func(t *testing.T) {
				data := slices.Concat(src[:2], exifSegment(bo, tt.orientation), src[2:])
				m, err := Process(bytes.NewReader(data), Options{})
				if err != nil {
					t.Fatal(err)
				}
				w, h := 64, 32
				if tt.swapped {
					w, h = h, w
				}
				if m.Width != w || m.Height != h {
					t.Errorf("size = %dx%d; want %dx%d", m.Width, m.Height, w, h)
				}
				img, err := jpeg.Decode(bytes.NewReader(m.Data))
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
					t.Errorf("Data is %dx%d; want %dx%d", b.Dx(), b.Dy(), w, h)
				}
				at := [4]image.Point{{4, 4}, {w - 5, 4}, {4, h - 5}, {w - 5, h - 5}}
				for i, p := range at {
					got := color.RGBAModel.Convert(img.At(p.X, p.Y)).(color.RGBA)
					if colorDiff(got, tt.corners[i]) > 40 {
						t.Errorf("pixel at %v = %v; want about %v", p, got, tt.corners[i])
					}
				}
				if ms := jpegMarkers(t, m.Data); slices.ContainsFunc(ms, isAPPn) {
					t.Errorf("Data has markers % x; want no APPn", ms)
				}
				if bytes.Contains(m.Data, []byte("Exif")) || bytes.Contains(m.Data, gpsLatitude) {
					t.Errorf("Data still holds EXIF or the GPS position")
				}
			})
		}
	}
}

func isAPPn(m byte) bool { return m >= 0xe0 && m <= 0xef }

func TestExifOrientation(t *testing.T) {
	valid := exifSegment(binary.BigEndian, 6)[4+6:] // the TIFF structure
	wrongType := bytes.Clone(valid)
	wrongType[13] = 4 // LONG instead of SHORT
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"valid", valid, 6},
		{"empty", nil, 0},
		{"bad byte order", append([]byte("XX"), valid[2:]...), 0},
		{"IFD offset past the end", append(valid[:4:4], 0xff, 0xff, 0xff, 0xff), 0},
		{"truncated entries", valid[:20], 0},
		{"wrong type", wrongType, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.tiff); got != tt.want {
				t.Errorf("exifOrientation = %d; want %d", got, tt.want)
			}
		})
	}
}

// iccSegment is an APP2 ICC_PROFILE segment (1 of 1) around a minimal
// profile header naming colour space space.
func iccSegment(space string) []byte {
	profile := make([]byte, 128)
	binary.BigEndian.PutUint32(profile, 128)
	copy(profile[16:], space)
	copy(profile[36:], "acsp")
	payload := append([]byte("ICC_PROFILE\x00\x01\x01"), profile...)
	seg := []byte{0xff, 0xe2, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	return append(seg, payload...)
}

func TestJPEGKeepsMatchingICC(t *testing.T) {
	colour := encodeJPEG(t, gradient(1000, 500))
	grayImg := image.NewGray(image.Rect(0, 0, 1000, 500))
	gray := encodeJPEG(t, grayImg)
	tests := []struct {
		name      string
		src       []byte
		space     string
		inData    bool
		inPreview bool
	}{
		{"RGB profile on colour", colour, "RGB ", true, true},
		{"GRAY profile on grey", gray, "GRAY", true, false},
		{"CMYK profile on colour", colour, "CMYK", false, false},
		{"GRAY profile on colour", colour, "GRAY", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := iccSegment(tt.space)
			data := slices.Concat(tt.src[:2], exifSegment(binary.LittleEndian, 1), seg, tt.src[2:])
			m, err := Process(bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(m.Data, seg); got != tt.inData {
				t.Errorf("profile in Data = %v; want %v", got, tt.inData)
			}
			if got := bytes.Contains(m.Preview, seg); got != tt.inPreview {
				t.Errorf("profile in Preview = %v; want %v", got, tt.inPreview)
			}
			if ms := jpegMarkers(t, m.Data); slices.Contains(ms, 0xe1) {
				t.Errorf("Data has markers % x; want no APP1", ms)
			}
			if _, err := jpeg.Decode(bytes.NewReader(m.Data)); err != nil {
				t.Errorf("Data does not decode: %v", err)
			}
		})
	}
}

func TestJPEGScanLimit(t *testing.T) {
	src := encodeJPEG(t, gradient(64, 64))
	sos := []byte("\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00")

	// FF DA inside a comment before the first scan is not a scan: the
	// segment walk skips it.
	comment := bytes.Repeat([]byte{0xff, 0xda}, 2*maxJPEGScans)
	com := append([]byte{0xff, 0xfe, 0, 0}, comment...)
	binary.BigEndian.PutUint16(com[2:], uint16(2+len(comment)))
	if _, err := Process(bytes.NewReader(slices.Concat(src[:2], com, src[2:])), Options{}); err != nil {
		t.Errorf("JPEG with FF DA in a comment: %v; want success", err)
	}

	// Scans past the limit are refused before decoding.
	extra := bytes.Repeat(sos, maxJPEGScans)
	data := slices.Concat(src[:len(src)-2], extra, src[len(src)-2:])
	if _, err := Process(bytes.NewReader(data), Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("JPEG with %d scans: %v; want %v", maxJPEGScans+1, err, ErrUnsupported)
	}
}

// TestOrientGray checks the grey path of orient, which JPEG photos from
// some scanners take.
func TestOrientGray(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(src.Pix, []byte{1, 2, 3, 4, 5, 6}) // rows 1 2 3 / 4 5 6
	tests := []struct {
		o    int
		want []byte
		w    int
	}{
		{2, []byte{3, 2, 1, 6, 5, 4}, 3},
		{3, []byte{6, 5, 4, 3, 2, 1}, 3},
		{4, []byte{4, 5, 6, 1, 2, 3}, 3},
		{5, []byte{1, 4, 2, 5, 3, 6}, 2},
		{6, []byte{4, 1, 5, 2, 6, 3}, 2},
		{7, []byte{6, 3, 5, 2, 4, 1}, 2},
		{8, []byte{3, 6, 2, 5, 1, 4}, 2},
	}
	for _, tt := range tests {
		got := orient(src, tt.o).(*image.Gray)
		if !bytes.Equal(got.Pix, tt.want) || got.Rect.Dx() != tt.w {
			t.Errorf("orient(%d) = %v (width %d); want %v (width %d)", tt.o, got.Pix, got.Rect.Dx(), tt.want, tt.w)
		}
	}
}
