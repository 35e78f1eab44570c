package media

import (
	"image"
	"math"

	"golang.org/x/image/draw"
)

// base83 is the blurhash digit alphabet.
const base83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"

// Blurhash computes the blurhash (https://blurha.sh) of img with x
// horizontal and y vertical components; values outside 1..9 are clamped to
// that range. The result has 4+2*x*y characters, or is empty for an empty
// image. Colours are taken premultiplied, so transparent areas count as
// black. The cost grows with the pixel count: pass a small copy (Process
// uses one at most 32 pixels wide and high).
//
// The basis functions are sampled at pixel centres, cos(π·i·(px+0.5)/w),
// which makes them exactly orthogonal to a flat image: a uniform colour
// gives all-zero AC components (given at least x/2 by y/2 pixels). The reference encoder samples at px/w and
// gives a flat image a faint gradient. Decoders are unaffected either way.
func Blurhash(img image.Image, x, y int) string {
	x = min(max(x, 1), 9)
	y = min(max(y, 1), 9)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return ""
	}
	cosX := basis(x, w)
	cosY := basis(y, h)

	// The 2-D sum is separable: first, for every row and horizontal
	// component i, sum the row against cos_i; then sum those per-row values
	// against the vertical basis. That is O(x·w·h + x·y·h), not O(x·y·w·h).
	rows := make([][3]float64, x*h) // [i*h+row]
	line := image.NewRGBA(image.Rect(0, 0, w, 1))
	lin := make([][3]float64, w)
	for py := range h {
		draw.Draw(line, line.Rect, img, image.Pt(b.Min.X, b.Min.Y+py), draw.Src)
		for px := range w {
			p := line.Pix[4*px:]
			lin[px] = [3]float64{srgbToLinear(p[0]), srgbToLinear(p[1]), srgbToLinear(p[2])}
		}
		for i := range x {
			var s [3]float64
			for px, c := range lin {
				f := cosX[i*w+px]
				s[0] += f * c[0]
				s[1] += f * c[1]
				s[2] += f * c[2]
			}
			rows[i*h+py] = s
		}
	}
	factors := make([][3]float64, 0, x*y) // row-major over (j, i), as the format orders them
	for j := range y {
		for i := range x {
			var s [3]float64
			for py := range h {
				f := cosY[j*h+py]
				r := rows[i*h+py]
				s[0] += f * r[0]
				s[1] += f * r[1]
				s[2] += f * r[2]
			}
			norm := 2.0
			if i == 0 && j == 0 {
				norm = 1
			}
			scale := norm / float64(w*h)
			factors = append(factors, [3]float64{s[0] * scale, s[1] * scale, s[2] * scale})
		}
	}

	hash := make([]byte, 0, 4+2*x*y)
	hash = appendBase83(hash, (x-1)+(y-1)*9, 1)
	dc, ac := factors[0], factors[1:]
	maxAC := 1.0
	if len(ac) > 0 {
		var actual float64
		for _, f := range ac {
			actual = max(actual, math.Abs(f[0]), math.Abs(f[1]), math.Abs(f[2]))
		}
		q := int(max(0, min(82, math.Floor(actual*166-0.5))))
		maxAC = float64(q+1) / 166
		hash = appendBase83(hash, q, 1)
	} else {
		hash = appendBase83(hash, 0, 1)
	}
	hash = appendBase83(hash, linearToSRGB(dc[0])<<16|linearToSRGB(dc[1])<<8|linearToSRGB(dc[2]), 4)
	for _, f := range ac {
		v := quantAC(f[0], maxAC)*19*19 + quantAC(f[1], maxAC)*19 + quantAC(f[2], maxAC)
		hash = appendBase83(hash, v, 2)
	}
	return string(hash)
}

// basis returns cos(π·i·(p+0.5)/n) for i < k and p < n, at [i*n+p].
func basis(k, n int) []float64 {
	t := make([]float64, k*n)
	for i := range k {
		for p := range n {
			t[i*n+p] = math.Cos(math.Pi * float64(i) * (float64(p) + 0.5) / float64(n))
		}
	}
	return t
}

// quantAC maps an AC value to 0..18, with 9 for zero, on a square-root
// scale relative to the largest AC value.
func quantAC(v, maxAC float64) int {
	v /= maxAC
	s := math.Copysign(math.Sqrt(math.Abs(v)), v)
	return int(max(0, min(18, math.Floor(s*9+9.5))))
}

func srgbToLinear(c uint8) float64 {
	v := float64(c) / 255
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

func linearToSRGB(v float64) int {
	v = max(0, min(1, v))
	if v <= 0.0031308 {
		return int(v*12.92*255 + 0.5)
	}
	return int((1.055*math.Pow(v, 1/2.4)-0.055)*255 + 0.5)
}

// appendBase83 appends v as n base-83 digits, most significant first.
func appendBase83(dst []byte, v, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		d := v
		for range i {
			d /= 83
		}
		dst = append(dst, base83[d%83])
	}
	return dst
}
