package notification

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeMailFile writes m as Config.MailDir/<id>.eml, atomically: a temp
// file in the same directory, synced, then renamed, so a reader never sees
// half a message. Nothing is written without a MailDir.
func (s *Service) writeMailFile(m Email) error {
	dir := s.cfg.MailDir
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: Bazaar <no-reply@bazaar.invalid>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nX-Bazaar-Email-Id: %d\r\nX-Bazaar-Event-Id: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		headerSafe(m.To), headerSafe(m.Subject), m.CreateTime.Format("Mon, 02 Jan 2006 15:04:05 -0700"), m.ID, headerSafe(m.EventID))
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	f, err := os.CreateTemp(dir, ".pending-*.eml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.WriteString(b.String())
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("%012d.eml", m.ID)))
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}

// headerSafe keeps a header value on one line: text from events must not
// add headers or end the header block.
func headerSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}
