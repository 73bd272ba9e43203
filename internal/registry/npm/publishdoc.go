package npm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// publishDoc is the document npm PUTs to /{name}: a publish (one version and
// its tarball as a base64 attachment), or a whole revised packument
// (deprecate, unpublish of one version).
type publishDoc struct {
	ID       string                     `json:"_id"`
	Name     string                     `json:"name"`
	Rev      string                     `json:"_rev"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Access   *string                    `json:"access"`

	// Attachments lists the attachments seen, without their data, which
	// went to the attach callback.
	Attachments map[string]attachmentInfo `json:"-"`
}

// attachmentInfo is what an attachment declares besides its data.
type attachmentInfo struct {
	ContentType string
	Length      int64 // -1 when not given
	HasData     bool
}

// attachFunc receives one attachment's decoded bytes while the document is
// read. It may stop early; the parser skips what it leaves.
type attachFunc func(name string, data io.Reader) error

// errDocTooLarge is returned when the document without its attachments
// exceeds the parser's limit.
var errDocTooLarge = errors.New("document too large")

// syntaxError is a malformed publish document.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return "malformed document: " + e.msg }

func syntaxErr(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// parsePublish reads a publish document from r. The "_attachments" member is
// not kept in memory: each attachment's "data" string is base64-decoded as
// it streams and handed to attach (which may be nil to discard it). Every
// other member is collected, up to maxDoc bytes, and decoded at the end.
func parsePublish(r io.Reader, maxDoc int64, attach attachFunc) (*publishDoc, error) {
	p := &docParser{r: bufio.NewReaderSize(r, 64<<10), max: maxDoc}
	doc := &publishDoc{Attachments: map[string]attachmentInfo{}}
	var out bytes.Buffer
	c, err := p.next()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, syntaxErr("the document is not a JSON object")
	}
	out.WriteByte('{')
	members := 0
	for {
		c, err := p.next()
		if err != nil {
			return nil, err
		}
		if c == '}' && members == 0 {
			break
		}
		if c != '"' {
			return nil, syntaxErr("expected a member name")
		}
		rawKey, key, err := p.key()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		if key == "_attachments" {
			if err := p.attachments(doc, attach); err != nil {
				return nil, err
			}
		} else {
			if out.Len() > 1 {
				out.WriteByte(',')
			}
			out.Write(rawKey)
			out.WriteByte(':')
			c, err := p.next()
			if err != nil {
				return nil, err
			}
			if err := p.value(&out, c); err != nil {
				return nil, err
			}
			if err := p.charge(int64(len(rawKey)) + 2); err != nil {
				return nil, err
			}
		}
		members++
		c, err = p.next()
		if err != nil {
			return nil, err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, syntaxErr("expected ',' or '}' after a member")
		}
	}
	out.WriteByte('}')
	// Only whitespace may follow.
	for {
		b, err := p.r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !isSpace(b) {
			return nil, syntaxErr("data after the document")
		}
	}
	if err := json.Unmarshal(out.Bytes(), doc); err != nil {
		return nil, syntaxErr("%s", jsonErrMessage(err))
	}
	return doc, nil
}

// jsonErrMessage describes a decoding error without echoing input.
func jsonErrMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s must not be a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("unexpected JSON %s", te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	return "invalid JSON"
}

type docParser struct {
	r    *bufio.Reader
	max  int64
	used int64
}

func (p *docParser) charge(n int64) error {
	p.used += n
	if p.max > 0 && p.used > p.max {
		return errDocTooLarge
	}
	return nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// next returns the next byte that is not whitespace.
func (p *docParser) next() (byte, error) {
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return 0, syntaxErr("unexpected end of document")
			}
			return 0, err
		}
		if !isSpace(b) {
			return b, nil
		}
	}
}

func (p *docParser) expect(want byte) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c != want {
		return syntaxErr("expected %q", want)
	}
	return nil
}

// key reads a member name whose opening quote was consumed; it returns the
// raw JSON string and its decoded value.
func (p *docParser) key() ([]byte, string, error) {
	var raw bytes.Buffer
	raw.WriteByte('"')
	if err := p.str(&raw); err != nil {
		return nil, "", err
	}
	var s string
	if err := json.Unmarshal(raw.Bytes(), &s); err != nil {
		return nil, "", syntaxErr("invalid member name")
	}
	return raw.Bytes(), s, nil
}

// str copies the rest of a JSON string (after its opening quote), with its
// closing quote, into out, escapes as they are.
func (p *docParser) str(out *bytes.Buffer) error {
	var n int64
	defer func() { p.used += n }()
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return syntaxErr("unterminated string")
			}
			return err
		}
		n++
		if p.max > 0 && p.used+n > p.max {
			return errDocTooLarge
		}
		out.WriteByte(b)
		switch {
		case b == '"':
			return nil
		case b == '\\':
			e, err := p.r.ReadByte()
			if err != nil {
				return syntaxErr("unterminated string")
			}
			n++
			out.WriteByte(e)
		case b < 0x20:
			return syntaxErr("control character in string")
		}
	}
}

// value copies one JSON value starting with c into out. Its structure is
// validated when the collected document is decoded.
func (p *docParser) value(out *bytes.Buffer, c byte) error {
	switch {
	case c == '"':
		out.WriteByte(c)
		return p.str(out)
	case c == '{' || c == '[':
		out.WriteByte(c)
		depth := 1
		var n int64 = 1
		for depth > 0 {
			b, err := p.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					return syntaxErr("unexpected end of document")
				}
				return err
			}
			if b == '"' {
				p.used += n
				n = 0
				out.WriteByte(b)
				if err := p.str(out); err != nil {
					return err
				}
				continue
			}
			n++
			if p.max > 0 && p.used+n > p.max {
				return errDocTooLarge
			}
			out.WriteByte(b)
			switch b {
			case '{', '[':
				depth++
				if depth > 1000 {
					return syntaxErr("document nested too deeply")
				}
			case '}', ']':
				depth--
			}
		}
		p.used += n
		return nil
	case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
		out.WriteByte(c)
		var n int64 = 1
		for {
			b, err := p.r.ReadByte()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if !(b == '-' || b == '+' || b == '.' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
				p.r.UnreadByte()
				break
			}
			n++
			if n > 64 {
				return syntaxErr("literal too long")
			}
			out.WriteByte(b)
		}
		return p.charge(n)
	}
	return syntaxErr("unexpected character %q", c)
}

// attachments reads the "_attachments" object.
func (p *docParser) attachments(doc *publishDoc, attach attachFunc) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c == 'n' {
		var sink bytes.Buffer
		if err := p.value(&sink, c); err != nil {
			return err
		}
		if sink.String() != "null" {
			return syntaxErr("_attachments must be an object")
		}
		return nil
	}
	if c != '{' {
		return syntaxErr("_attachments must be an object")
	}
	for first := true; ; first = false {
		c, err := p.next()
		if err != nil {
			return err
		}
		if c == '}' && first {
			return nil
		}
		if c != '"' {
			return syntaxErr("expected an attachment name")
		}
		_, name, err := p.key()
		if err != nil {
			return err
		}
		if len(doc.Attachments) >= 16 {
			return syntaxErr("too many attachments")
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		info, err := p.attachment(name, attach)
		if err != nil {
			return err
		}
		doc.Attachments[name] = info
		c, err = p.next()
		if err != nil {
			return err
		}
		if c == '}' {
			return nil
		}
		if c != ',' {
			return syntaxErr("expected ',' or '}' in _attachments")
		}
	}
}

// attachment reads one attachment object, streaming its data.
func (p *docParser) attachment(name string, attach attachFunc) (attachmentInfo, error) {
	info := attachmentInfo{Length: -1}
	if err := p.expect('{'); err != nil {
		return info, syntaxErr("attachment %q must be an object", name)
	}
	for first := true; ; first = false {
		c, err := p.next()
		if err != nil {
			return info, err
		}
		if c == '}' && first {
			return info, nil
		}
		if c != '"' {
			return info, syntaxErr("expected a member name in attachment %q", name)
		}
		_, key, err := p.key()
		if err != nil {
			return info, err
		}
		if err := p.expect(':'); err != nil {
			return info, err
		}
		c, err = p.next()
		if err != nil {
			return info, err
		}
		if key == "data" {
			if c != '"' {
				return info, syntaxErr("attachment data must be a base64 string")
			}
			if info.HasData {
				return info, syntaxErr("attachment %q has data twice", name)
			}
			info.HasData = true
			sr := &stringReader{r: p.r}
			if attach != nil {
				if err := attach(name, base64.NewDecoder(base64.StdEncoding, sr)); err != nil {
					return info, err
				}
			}
			if _, err := io.Copy(io.Discard, sr); err != nil {
				return info, err
			}
		} else {
			var v bytes.Buffer
			if err := p.value(&v, c); err != nil {
				return info, err
			}
			if !json.Valid(v.Bytes()) {
				return info, syntaxErr("invalid JSON in attachment %q", name)
			}
			switch key {
			case "content_type":
				json.Unmarshal(v.Bytes(), &info.ContentType)
			case "length":
				var n int64
				if json.Unmarshal(v.Bytes(), &n) == nil && n >= 0 {
					info.Length = n
				}
			}
		}
		c, err = p.next()
		if err != nil {
			return info, err
		}
		if c == '}' {
			return info, nil
		}
		if c != ',' {
			return info, syntaxErr("expected ',' or '}' in attachment %q", name)
		}
	}
}

// stringReader yields the decoded contents of a JSON string whose opening
// quote was consumed, and io.EOF at its closing quote.
type stringReader struct {
	r    *bufio.Reader
	done bool
	err  error
	pend []byte // decoded bytes of an escape not yet returned
}

func (s *stringReader) Read(p []byte) (int, error) {
	if len(s.pend) > 0 {
		n := copy(p, s.pend)
		s.pend = s.pend[n:]
		return n, nil
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := s.r.Peek(1); err != nil {
		return 0, s.fail(err)
	}
	buf, _ := s.r.Peek(min(s.r.Buffered(), len(p)))
	i := 0
	for i < len(buf) && buf[i] != '"' && buf[i] != '\\' && buf[i] >= 0x20 {
		i++
	}
	if i > 0 {
		n := copy(p, buf[:i])
		s.r.Discard(n)
		return n, nil
	}
	b, _ := s.r.ReadByte()
	switch {
	case b == '"':
		s.done = true
		return 0, io.EOF
	case b < 0x20:
		return 0, s.fail(syntaxErr("control character in string"))
	}
	// An escape.
	e, err := s.r.ReadByte()
	if err != nil {
		return 0, s.fail(err)
	}
	var out []byte
	switch e {
	case '"', '\\', '/':
		out = []byte{e}
	case 'b':
		out = []byte{'\b'}
	case 'f':
		out = []byte{'\f'}
	case 'n':
		out = []byte{'\n'}
	case 'r':
		out = []byte{'\r'}
	case 't':
		out = []byte{'\t'}
	case 'u':
		var hex [4]byte
		if _, err := io.ReadFull(s.r, hex[:]); err != nil {
			return 0, s.fail(err)
		}
		var r rune
		for _, h := range hex {
			var d byte
			switch {
			case h >= '0' && h <= '9':
				d = h - '0'
			case h >= 'a' && h <= 'f':
				d = h - 'a' + 10
			case h >= 'A' && h <= 'F':
				d = h - 'A' + 10
			default:
				return 0, s.fail(syntaxErr("invalid \\u escape"))
			}
			r = r<<4 | rune(d)
		}
		out = utf8.AppendRune(nil, r)
	default:
		return 0, s.fail(syntaxErr("invalid escape in string"))
	}
	n := copy(p, out)
	s.pend = out[n:]
	return n, nil
}

func (s *stringReader) fail(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = syntaxErr("unterminated string")
	}
	s.err = err
	return err
}
