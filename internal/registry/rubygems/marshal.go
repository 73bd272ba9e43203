package rubygems

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"time"
)

// Ruby's Marshal format, version 4.8, written from Go: what the legacy
// indexes (specs.4.8.gz, quick/Marshal.4.8/*.gemspec.rz) and the
// dependency API are made of. Only writing is needed, and only the values
// those documents hold.

// rbValue is a Ruby value that can be marshalled.
type rbValue interface {
	marshalTo(w *marshalWriter)
}

type (
	// rbNil is nil.
	rbNil struct{}
	// rbBool is true or false.
	rbBool bool
	// rbInt is an Integer.
	rbInt int64
	// rbString is a String: UTF-8, or binary (ASCII-8BIT) when Binary.
	rbString struct {
		S      string
		Binary bool
	}
	// rbSymbol is a Symbol.
	rbSymbol string
	// rbArray is an Array.
	rbArray []rbValue
	// rbHash is a Hash, its pairs in order.
	rbHash []rbPair
	// rbObject is a plain object: its class and instance variables (names
	// with their "@"), set without calling initialize.
	rbObject struct {
		Class string
		Ivars []rbPair
	}
	// rbUserMarshal is an object whose class defines marshal_dump and
	// marshal_load (Gem::Version, Gem::Requirement): the class and the
	// value marshal_load is given.
	rbUserMarshal struct {
		Class string
		Data  rbValue
	}
	// rbUserDef is an object whose class defines _dump and _load (Time,
	// Gem::Specification): the class and the bytes _load is given.
	rbUserDef struct {
		Class string
		Data  []byte
	}
)

// rbPair is a hash entry or an instance variable.
type rbPair struct {
	Key   rbValue
	Value rbValue
}

// str returns a UTF-8 Ruby string.
func str(s string) rbString { return rbString{S: s} }

// strOrNil returns nil for "" and the string otherwise.
func strOrNil(s string) rbValue {
	if s == "" {
		return rbNil{}
	}
	return str(s)
}

// strArray returns an array of strings.
func strArray(ss []string) rbArray {
	a := make(rbArray, len(ss))
	for i, s := range ss {
		a[i] = str(s)
	}
	return a
}

// rbTime returns a Time in UTC, as Time#_dump writes it (to the
// microsecond).
func rbTime(t time.Time) rbUserDef {
	t = t.UTC()
	year := t.Year() - 1900
	if year < 0 {
		year = 0
	}
	if year > 0xffff {
		year = 0xffff
	}
	p := uint32(1)<<31 | uint32(1)<<30 | uint32(year)<<14 | uint32(t.Month()-1)<<10 | uint32(t.Day())<<5 | uint32(t.Hour())
	s := uint32(t.Minute())<<26 | uint32(t.Second())<<20 | uint32(t.Nanosecond()/1000)
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b[0:4], p)
	binary.LittleEndian.PutUint32(b[4:8], s)
	return rbUserDef{Class: "Time", Data: b}
}

// marshalWriter writes one Marshal stream.
type marshalWriter struct {
	buf     bytes.Buffer
	symbols map[string]int
}

// marshal returns the Marshal.dump of v.
func marshal(v rbValue) []byte {
	w := &marshalWriter{symbols: map[string]int{}}
	w.buf.Write([]byte{4, 8})
	v.marshalTo(w)
	return w.buf.Bytes()
}

// long writes an integer as Marshal's w_long does.
func (w *marshalWriter) long(n int64) {
	switch {
	case n == 0:
		w.buf.WriteByte(0)
	case n > 0 && n < 123:
		w.buf.WriteByte(byte(n + 5))
	case n < 0 && n > -124:
		w.buf.WriteByte(byte((n - 5) & 0xff))
	default:
		var b [9]byte
		x := n
		for i := 1; i < len(b); i++ {
			b[i] = byte(x & 0xff)
			x >>= 8
			if x == 0 {
				b[0] = byte(i)
				w.buf.Write(b[:i+1])
				return
			}
			if x == -1 {
				b[0] = byte(-i)
				w.buf.Write(b[:i+1])
				return
			}
		}
		// Unreachable for int64: eight bytes always end the loop.
		b[0] = 8
		w.buf.Write(b[:])
	}
}

func (w *marshalWriter) bytes(b []byte) {
	w.long(int64(len(b)))
	w.buf.Write(b)
}

func (w *marshalWriter) symbol(s string) {
	if i, ok := w.symbols[s]; ok {
		w.buf.WriteByte(';')
		w.long(int64(i))
		return
	}
	w.symbols[s] = len(w.symbols)
	w.buf.WriteByte(':')
	w.bytes([]byte(s))
}

func (rbNil) marshalTo(w *marshalWriter) { w.buf.WriteByte('0') }

func (b rbBool) marshalTo(w *marshalWriter) {
	if b {
		w.buf.WriteByte('T')
	} else {
		w.buf.WriteByte('F')
	}
}

// Integers outside 31 bits are Bignums in Marshal, as Ruby writes them.
const fixnumMax = 1<<30 - 1

func (n rbInt) marshalTo(w *marshalWriter) {
	if n >= -fixnumMax-1 && n <= fixnumMax {
		w.buf.WriteByte('i')
		w.long(int64(n))
		return
	}
	w.buf.WriteByte('l')
	x := big.NewInt(int64(n))
	if x.Sign() < 0 {
		w.buf.WriteByte('-')
		x.Neg(x)
	} else {
		w.buf.WriteByte('+')
	}
	be := x.Bytes()
	if len(be)%2 == 1 {
		be = append([]byte{0}, be...)
	}
	le := make([]byte, len(be))
	for i := range be {
		le[i] = be[len(be)-1-i]
	}
	w.long(int64(len(le) / 2))
	w.buf.Write(le)
}

func (s rbString) marshalTo(w *marshalWriter) {
	if s.Binary {
		w.buf.WriteByte('"')
		w.bytes([]byte(s.S))
		return
	}
	// A UTF-8 string carries its encoding as the instance variable E.
	w.buf.WriteByte('I')
	w.buf.WriteByte('"')
	w.bytes([]byte(s.S))
	w.long(1)
	w.symbol("E")
	w.buf.WriteByte('T')
}

func (s rbSymbol) marshalTo(w *marshalWriter) { w.symbol(string(s)) }

func (a rbArray) marshalTo(w *marshalWriter) {
	w.buf.WriteByte('[')
	w.long(int64(len(a)))
	for _, v := range a {
		v.marshalTo(w)
	}
}

func (h rbHash) marshalTo(w *marshalWriter) {
	w.buf.WriteByte('{')
	w.long(int64(len(h)))
	for _, p := range h {
		p.Key.marshalTo(w)
		p.Value.marshalTo(w)
	}
}

func (o rbObject) marshalTo(w *marshalWriter) {
	w.buf.WriteByte('o')
	w.symbol(o.Class)
	w.long(int64(len(o.Ivars)))
	for _, p := range o.Ivars {
		p.Key.marshalTo(w)
		p.Value.marshalTo(w)
	}
}

func (u rbUserMarshal) marshalTo(w *marshalWriter) {
	w.buf.WriteByte('U')
	w.symbol(u.Class)
	u.Data.marshalTo(w)
}

func (u rbUserDef) marshalTo(w *marshalWriter) {
	w.buf.WriteByte('u')
	w.symbol(u.Class)
	w.bytes(u.Data)
}
