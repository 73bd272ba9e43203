package maven

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// pom is what Packhub reads of a deployed pom: the coordinates, which
// must agree with the path the pom is deployed to.
type pom struct {
	GroupID    string
	ArtifactID string
	Version    string
	Packaging  string
}

type pomXML struct {
	XMLName    xml.Name
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Version    string `xml:"version"`
	Packaging  string `xml:"packaging"`
	Parent     *struct {
		GroupID string `xml:"groupId"`
		Version string `xml:"version"`
	} `xml:"parent"`
}

// syntaxError is a document that is not what it must be; it answers 400.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func syntaxErrorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// parsePom reads a pom's coordinates. groupId and version are inherited
// from <parent> when the pom does not give its own, as Maven does.
func parsePom(data []byte) (*pom, error) {
	var px pomXML
	if err := decodeXML(data, &px); err != nil {
		return nil, syntaxErrorf("the pom is not valid XML: %s", err)
	}
	if px.XMLName.Local != "project" {
		return nil, syntaxErrorf("the pom's root element is <%s>, not <project>", px.XMLName.Local)
	}
	p := &pom{
		GroupID:    strings.TrimSpace(px.GroupID),
		ArtifactID: strings.TrimSpace(px.ArtifactID),
		Version:    strings.TrimSpace(px.Version),
		Packaging:  strings.TrimSpace(px.Packaging),
	}
	if px.Parent != nil {
		if p.GroupID == "" {
			p.GroupID = strings.TrimSpace(px.Parent.GroupID)
		}
		if p.Version == "" {
			p.Version = strings.TrimSpace(px.Parent.Version)
		}
	}
	if p.ArtifactID == "" {
		return nil, syntaxErrorf("the pom has no artifactId")
	}
	if p.GroupID == "" {
		return nil, syntaxErrorf("the pom has no groupId (nor a parent's)")
	}
	if p.Version == "" {
		return nil, syntaxErrorf("the pom has no version (nor a parent's)")
	}
	return p, nil
}

// check refuses a pom whose coordinates disagree with where it is
// deployed. A coordinate still holding a property reference (${revision})
// is not compared: Maven leaves those for the reader to resolve.
func (p *pom) check(l *location) error {
	for _, c := range []struct{ what, got, want string }{
		{"groupId", p.GroupID, l.group},
		{"artifactId", p.ArtifactID, l.artifact},
		{"version", p.Version, l.version},
	} {
		if c.got != c.want && !strings.Contains(c.got, "${") {
			return invalid("the pom's %s is %q but it is deployed to %s %q", c.what, c.got, c.what, c.want)
		}
	}
	return nil
}

// decodeXML decodes one document into v: strictly, without external
// entities (encoding/xml resolves none), in UTF-8, US-ASCII or
// ISO-8859-1, with nothing but white space and comments after the root.
func decodeXML(data []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the document is empty")
		}
		return err
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("text after the root element")
			}
		default:
			return errors.New("more than one root element")
		}
	}
}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		return latin1Reader{input}, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported: use UTF-8", charset)
}

// latin1Reader turns ISO-8859-1 into UTF-8.
type latin1Reader struct{ r io.Reader }

func (l latin1Reader) Read(p []byte) (int, error) {
	// Each input byte becomes at most two output bytes.
	buf := make([]byte, max(len(p)/2, 1))
	n, err := l.r.Read(buf)
	out := p[:0]
	for _, c := range buf[:n] {
		out = utf8.AppendRune(out, rune(c))
	}
	return len(out), err
}
