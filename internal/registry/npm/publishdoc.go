package npm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/packhub/packhub/internal/packages"
)

// publishDoc is the document npm PUTs to /{name}: a publish (one version and
// its tarball as a base64 attachment), or a whole revised packument
// (deprecate, unpublish of one version). It holds what Packhub reads of
// the members "_id", "name", "_rev", "dist-tags", "versions", "access" and
// "_attachments".
type publishDoc struct {
	ID       string
	Name     string
	Rev      string
	DistTags map[string]string
	Versions map[string]json.RawMessage // each manifest as sent
	Access   *string

	// Attachments lists the attachments seen, without their data, which
	// went to the attach callback.
	Attachments map[string]attachmentInfo
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

// docLimits bound what parsePublish reads and holds.
type docLimits struct {
	// doc bounds the whole document without its attachments' data.
	doc int64
	// member bounds one version's manifest, each other member of the
	// document and each member name: the most the parser holds at once
	// besides the versions it keeps.
	member int64
}

// parsePublish reads a publish document from r. The "_attachments" member is
// not kept in memory: each attachment's "data" string is base64-decoded as
// it streams and handed to attach (which may be nil to discard it). Each
// version's manifest is kept as sent; of the other members only those
// Packhub reads are decoded, and the rest is checked and dropped.
func parsePublish(r io.Reader, lim docLimits, attach attachFunc) (*publishDoc, error) {
	p := &docParser{r: bufio.NewReaderSize(endReader{r}, 64<<10), max: lim.doc, memberMax: lim.member}
	doc := &publishDoc{Attachments: map[string]attachmentInfo{}}
	c, err := p.next()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, syntaxErr("the document is not a JSON object")
	}
	for first := true; ; first = false {
		c, err := p.next()
		if err != nil {
			return nil, err
		}
		if c == '}' && first {
			break
		}
		if c != '"' {
			return nil, syntaxErr("expected a member name")
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		switch key {
		case "_attachments":
			err = p.attachments(doc, attach)
		case "versions":
			err = p.versions(doc)
		default:
			err = p.member(doc, key)
		}
		if err != nil {
			return nil, err
		}
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
	return doc, nil
}

// member reads a top-level member other than the versions and the
// attachments. The members Packhub reads are decoded (a later duplicate
// replaces an earlier one); the others are checked to be JSON and dropped.
func (p *docParser) member(doc *publishDoc, key string) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	out := valueBuf{limit: p.memberMax}
	if err := p.value(&out, c); err != nil {
		if errors.Is(err, errMemberTooLarge) {
			return packages.Errorf(packages.KindTooLarge, "The document's %s member is larger than the limit of %d bytes.", quoteName(key), p.memberMax)
		}
		return err
	}
	raw := out.Bytes()
	switch key {
	case "_id":
		return decodeMember(key, raw, &doc.ID)
	case "name":
		return decodeMember(key, raw, &doc.Name)
	case "_rev":
		return decodeMember(key, raw, &doc.Rev)
	case "dist-tags":
		var tags map[string]string
		if err := decodeMember(key, raw, &tags); err != nil {
			return err
		}
		doc.DistTags = tags
	case "access":
		var access *string
		if err := decodeMember(key, raw, &access); err != nil {
			return err
		}
		doc.Access = access
	default:
		if !json.Valid(raw) {
			return syntaxErr("invalid JSON in %s", quoteName(key))
		}
	}
	return nil
}

// decodeMember decodes one member's value into v.
func decodeMember(key string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			where := key
			if te.Field != "" {
				where += "." + te.Field
			}
			return syntaxErr("%s must not be a JSON %s", quoteName(where), te.Value)
		}
		return syntaxErr("%s: %s", quoteName(key), jsonErrMessage(err))
	}
	return nil
}

// versions reads the "versions" object, keeping each manifest as sent, up
// to the member limit each. A later duplicate of the member replaces an
// earlier one.
func (p *docParser) versions(doc *publishDoc) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c == 'n' {
		out := valueBuf{limit: 8}
		if err := p.value(&out, c); err != nil || out.String() != "null" {
			return syntaxErr("versions must be an object")
		}
		doc.Versions = nil
		return nil
	}
	if c != '{' {
		return syntaxErr("versions must be an object")
	}
	vs := map[string]json.RawMessage{}
	for first := true; ; first = false {
		c, err := p.next()
		if err != nil {
			return err
		}
		if c == '}' && first {
			break
		}
		if c != '"' {
			return syntaxErr("expected a version")
		}
		v, err := p.key()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		c, err = p.next()
		if err != nil {
			return err
		}
		out := valueBuf{limit: p.memberMax}
		if err := p.value(&out, c); err != nil {
			if errors.Is(err, errMemberTooLarge) {
				return packages.Errorf(packages.KindTooLarge, "The manifest of version %s is larger than the limit of %d bytes.", quoteName(v), p.memberMax)
			}
			return err
		}
		if !json.Valid(out.Bytes()) {
			return syntaxErr("the manifest of version %s is not valid JSON", quoteName(v))
		}
		vs[v] = out.Bytes()
		c, err = p.next()
		if err != nil {
			return err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return syntaxErr("expected ',' or '}' in versions")
		}
	}
	doc.Versions = vs
	return nil
}

// quoteName quotes a name taken from a document for a message, shortened
// so that a message never echoes much of the input.
func quoteName(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
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
	r         *bufio.Reader
	max       int64 // limit of used, 0 for none
	used      int64 // bytes read outside attachment data
	memberMax int64 // limit of one value held, 0 for none
}

// errMemberTooLarge is returned by value when what it collects outgrows
// its buffer's limit; callers name what was too large.
var errMemberTooLarge = errors.New("member too large")

// valueBuf collects one JSON value, up to limit bytes (0: no limit).
type valueBuf struct {
	bytes.Buffer
	limit int64
}

func (b *valueBuf) put(c byte) error {
	b.WriteByte(c)
	if b.limit > 0 && int64(b.Len()) > b.limit {
		return errMemberTooLarge
	}
	return nil
}

// endReader turns a body that ends before its declared length into a
// malformed document.
type endReader struct{ r io.Reader }

func (e endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = syntaxErr("the document ends early")
	}
	return n, err
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

// key reads a member name whose opening quote was consumed and returns it
// decoded. A name may be as long as the member limit.
func (p *docParser) key() (string, error) {
	raw := valueBuf{limit: p.memberMax}
	raw.WriteByte('"')
	if err := p.str(&raw); err != nil {
		if errors.Is(err, errMemberTooLarge) {
			return "", packages.Errorf(packages.KindTooLarge, "A member name of the document is larger than the limit of %d bytes.", p.memberMax)
		}
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw.Bytes(), &s); err != nil {
		return "", syntaxErr("invalid member name")
	}
	return s, nil
}

// str copies the rest of a JSON string (after its opening quote), with its
// closing quote, into out, escapes as they are.
func (p *docParser) str(out *valueBuf) error {
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
		if err := out.put(b); err != nil {
			return err
		}
		switch {
		case b == '"':
			return nil
		case b == '\\':
			e, err := p.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					return syntaxErr("unterminated string")
				}
				return err
			}
			n++
			if err := out.put(e); err != nil {
				return err
			}
		case b < 0x20:
			return syntaxErr("control character in string")
		}
	}
}

// value copies one JSON value starting with c into out. Its structure is
// only followed here; callers validate what they collect.
func (p *docParser) value(out *valueBuf, c byte) error {
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
				if err := out.put(b); err != nil {
					return err
				}
				if err := p.str(out); err != nil {
					return err
				}
				continue
			}
			n++
			if p.max > 0 && p.used+n > p.max {
				return errDocTooLarge
			}
			if err := out.put(b); err != nil {
				return err
			}
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
		sink := valueBuf{limit: 8}
		if err := p.value(&sink, c); err != nil || sink.String() != "null" {
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
		name, err := p.key()
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
		return info, syntaxErr("attachment %s must be an object", quoteName(name))
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
			return info, syntaxErr("expected a member name in attachment %s", quoteName(name))
		}
		key, err := p.key()
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
				return info, syntaxErr("attachment %s has data twice", quoteName(name))
			}
			info.HasData = true
			sr := &stringReader{r: p.r}
			if attach != nil {
				if err := attach(name, base64Reader{r: base64.NewDecoder(base64.StdEncoding, sr), name: name}); err != nil {
					return info, err
				}
			}
			if _, err := io.Copy(io.Discard, sr); err != nil {
				return info, err
			}
		} else {
			v := valueBuf{limit: p.memberMax}
			if err := p.value(&v, c); err != nil {
				if errors.Is(err, errMemberTooLarge) {
					return info, packages.Errorf(packages.KindTooLarge, "The %s of attachment %s is larger than the limit of %d bytes.", quoteName(key), quoteName(name), p.memberMax)
				}
				return info, err
			}
			if !json.Valid(v.Bytes()) {
				return info, syntaxErr("invalid JSON in attachment %s", quoteName(name))
			}
			switch key {
			case "content_type":
				var ct *string
				if json.Unmarshal(v.Bytes(), &ct) != nil {
					return info, syntaxErr("the content_type of attachment %s must be a string", quoteName(name))
				}
				if ct != nil {
					info.ContentType = *ct
				}
			case "length":
				var n *int64
				if json.Unmarshal(v.Bytes(), &n) != nil || (n != nil && *n < 0) {
					return info, syntaxErr("the length of attachment %s must be a number of bytes", quoteName(name))
				}
				if n != nil {
					info.Length = *n
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
			return info, syntaxErr("expected ',' or '}' in attachment %s", quoteName(name))
		}
	}
}

// base64Reader decodes an attachment's data and reports data that is not
// base64 (a bad character, or a length that is not a multiple of four) as
// a malformed document.
type base64Reader struct {
	r    io.Reader
	name string
}

func (b base64Reader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) || err == io.ErrUnexpectedEOF {
		err = syntaxErr("attachment %s is not valid base64", quoteName(b.name))
	}
	return n, err
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
