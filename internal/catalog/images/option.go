package images

// DefaultMaxImageSize is the largest image Service accepts unless
// WithMaxImageSize says otherwise: 10 MiB, the API's own cap.
const DefaultMaxImageSize = 10 << 20

// Option configures NewService.
type Option interface{ apply(*Service) }

type optionFunc func(*Service)

func (f optionFunc) apply(s *Service) { f(s) }

// WithMaxImageSize caps the size of an uploaded image, in bytes. Default
// DefaultMaxImageSize. Values below 1 keep the default.
func WithMaxImageSize(n int64) Option {
	return optionFunc(func(s *Service) {
		if n > 0 {
			s.maxSize = n
		}
	})
}
