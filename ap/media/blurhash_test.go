package media

import (
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"
)

func uniform(w, h int, c color.Color) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Rect, image.NewUniform(c), image.Point{}, draw.Src)
	return m
}

// digit83 is the value of one base-83 digit.
func digit83(tb testing.TB, c byte) int {
	tb.Helper()
	i := strings.IndexByte(base83, c)
	if i < 0 {
		tb.Fatalf("%q is not a base-83 digit", c)
	}
	return i
}

// acComponent returns the quantised (r, g, b) of AC component k (1-based
// in the row-major component order, so k = 1 is the first horizontal one).
func acComponent(tb testing.TB, hash string, k int) [3]int {
	tb.Helper()
	at := 6 + 2*(k-1)
	v := digit83(tb, hash[at])*83 + digit83(tb, hash[at+1])
	return [3]int{v / 361, v / 19 % 19, v % 19}
}

func TestBlurhashUniform(t *testing.T) {
	// Worked out from the algorithm for rgb(200, 100, 50) with 4x3 components:
	//   size flag  (4-1) + (3-1)*9 = 21                 -> "L"
	//   every AC component is 0 (pixel-centred cosines sum to zero over a
	//   flat image), so the quantised maximum is
	//   max(0, floor(0*166 - 0.5)) = 0                  -> "0"
	//   DC: the mean of the linear colour is the colour itself, which
	//   converts back to sRGB 200, 100, 50:
	//   200<<16 + 100<<8 + 50 = 13132850 = 22*83³ + 80*83² + 29*83 + 9
	//                                                    -> "M|T9"
	//   each AC channel quantises to floor(0*9 + 9.5) = 9, so each
	//   component is 9*19² + 9*19 + 9 = 3429 = 41*83 + 26 -> "fQ", 11 times.
	want := "L0M|T9" + strings.Repeat("fQ", 11)
	// The image must be at least half as wide and high as the component
	// counts: below that, a cosine samples the same value at every pixel.
	for _, size := range []image.Point{{32, 24}, {7, 5}, {2, 2}} {
		got := Blurhash(uniform(size.X, size.Y, color.RGBA{200, 100, 50, 255}), 4, 3)
		if got != want {
			t.Errorf("Blurhash of a uniform %v image = %q; want %q", size, got, want)
		}
	}
}

func TestBlurhashLength(t *testing.T) {
	img := gradient(40, 30)
	for _, c := range []image.Point{{1, 1}, {4, 3}, {3, 4}, {9, 1}, {1, 9}, {9, 9}, {5, 5}} {
		h := Blurhash(img, c.X, c.Y)
		if len(h) != 4+2*c.X*c.Y {
			t.Errorf("Blurhash(%dx%d) has %d chars; want %d", c.X, c.Y, len(h), 4+2*c.X*c.Y)
		}
		if got, want := digit83(t, h[0]), (c.X-1)+(c.Y-1)*9; got != want {
			t.Errorf("Blurhash(%dx%d) size flag = %d; want %d", c.X, c.Y, got, want)
		}
	}
}

// TestBlurhashClamp documents that out-of-range component counts are
// clamped to 1..9 rather than rejected.
func TestBlurhashClamp(t *testing.T) {
	img := gradient(40, 30)
	tests := []struct{ x, y, wantX, wantY int }{
		{0, 0, 1, 1},
		{-5, 3, 1, 3},
		{12, 1, 9, 1},
		{4, 100, 4, 9},
	}
	for _, tt := range tests {
		if got, want := Blurhash(img, tt.x, tt.y), Blurhash(img, tt.wantX, tt.wantY); got != want {
			t.Errorf("Blurhash(%d, %d) = %q; want %q (as for %d, %d)", tt.x, tt.y, got, want, tt.wantX, tt.wantY)
		}
	}
}

func TestBlurhashLeftBlackRightWhite(t *testing.T) {
	img := uniform(32, 24, color.Black)
	draw.Draw(img, image.Rect(16, 0, 32, 24), image.White, image.Point{}, draw.Src)
	h := Blurhash(img, 4, 3)
	// DC: the mean linear value 0.5 is sRGB 188.
	dc := digit83(t, h[2])*83*83*83 + digit83(t, h[3])*83*83 + digit83(t, h[4])*83 + digit83(t, h[5])
	if dc != 188<<16|188<<8|188 {
		t.Errorf("DC = %06x; want bcbcbc", dc)
	}
	// cos(π·x/w) is positive over the dark left half and negative over the
	// bright right half, so the first horizontal component is strongly
	// negative; the max AC quantises it to the most negative value, 0.
	if got := acComponent(t, h, 1); got != [3]int{0, 0, 0} {
		t.Errorf("first horizontal AC = %v; want [0 0 0]", got)
	}
	// The step is symmetric about the centre, so the i = 2 cosine cancels
	// over each half, and nothing varies vertically (j = 1, 2).
	zero := [3]int{9, 9, 9}
	for _, k := range []int{2, 4, 5, 6, 7, 8, 9, 10, 11} {
		if got := acComponent(t, h, k); got != zero {
			t.Errorf("AC %d = %v; want %v", k, got, zero)
		}
	}
	if got := acComponent(t, h, 3); got == zero {
		t.Errorf("AC 3 (i = 3) = %v; want non-zero", got)
	}
}

func TestBlurhashEmpty(t *testing.T) {
	if got := Blurhash(image.NewRGBA(image.Rect(0, 0, 0, 10)), 4, 3); got != "" {
		t.Errorf("Blurhash of an empty image = %q; want \"\"", got)
	}
}

// TestBlurhashSubImage checks that the image's bounds, not its origin, are
// what counts.
func TestBlurhashSubImage(t *testing.T) {
	big := gradient(100, 80)
	sub := big.SubImage(image.Rect(30, 20, 70, 50))
	cp := image.NewRGBA(image.Rect(0, 0, 40, 30))
	draw.Draw(cp, cp.Rect, sub, image.Pt(30, 20), draw.Src)
	if got, want := Blurhash(sub, 4, 3), Blurhash(cp, 4, 3); got != want {
		t.Errorf("Blurhash of a sub-image = %q; want %q as for its copy", got, want)
	}
}
