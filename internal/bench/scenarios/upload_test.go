package scenarios

import (
	"net/http"
	"testing"
)

// TestNoisePNGSize: the generated image is about the size asked for, and
// an image.
func TestNoisePNGSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{DefaultImageSize, 200_000, 1 << 20} {
		got := noisePNG(imageSide(size), 7)
		if len(got) < size*9/10 || len(got) > size*11/10 {
			t.Errorf("noisePNG(imageSide(%d)) = %d bytes, want within 10%%", size, len(got))
		}
		if ct := http.DetectContentType(got); ct != "image/png" {
			t.Errorf("noisePNG(imageSide(%d)) sniffs as %q, want image/png", size, ct)
		}
	}
}
