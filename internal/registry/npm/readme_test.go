package npm

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"
)

// cutUTF16 is the reference cut: the longest prefix of s of at most n
// UTF-16 code units that does not split a character.
func cutUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		u := len(utf16.Encode([]rune{r}))
		if units+u > n {
			return s[:i]
		}
		units += u
	}
	return s
}

func TestCutString(t *testing.T) {
	for _, c := range []struct {
		raw  string
		n    int
		want string
	}{
		{`"abcdef"`, 3, `"abc"`},
		{`"abc"`, 3, `"abc"`},
		{`"abc"`, 10, `"abc"`},
		{`"a\nb\"c"`, 3, `"a\nb"`},
		{`"a\u0041bc"`, 2, `"a\u0041"`},
		{`"éèê"`, 2, `"éè"`},
		{`"a😀b"`, 2, `"a"`},  // the emoji takes two units
		{`"a😀b"`, 3, `"a😀"`}, // and is not split
		{`"a\ud83d\ude00b"`, 2, `"a"`},
		{`"a\uD83D\uDE00b"`, 3, `"a\uD83D\uDE00"`},
		{`"a\ud800\u0041"`, 2, `"a\ud800"`}, // a lone surrogate counts one
		{`12345`, 2, `12345`},
		{`{"a":"bcdef"}`, 2, `{"a":"bcdef"}`},
		{`""`, 0, `""`},
		{`"x"`, 0, `""`},
	} {
		got, changed := cutString([]byte(c.raw), c.n)
		if string(got) != c.want || changed != (c.want != c.raw) {
			t.Errorf("cutString(%s, %d) = %s, %v; want %s", c.raw, c.n, got, changed, c.want)
		}
	}
}

func TestSlimManifest(t *testing.T) {
	long := strings.Repeat("é", readmeLimit+10)
	m := map[string]any{
		"name":   "@o/n",
		"x":      map[string]any{"readme": "nested, kept", "s": `"}{\"`},
		"readme": long,
		"list":   []any{1, "two", nil, true, 3.5e10},
	}
	raw, _ := json.Marshal(m)
	slim := slimManifest(raw)
	var got map[string]any
	if err := json.Unmarshal(slim, &got); err != nil {
		t.Fatalf("slim manifest is not JSON: %v", err)
	}
	if got["readme"] != long[:2*readmeLimit] {
		t.Fatalf("readme of %d characters", len([]rune(got["readme"].(string))))
	}
	delete(got, "readme")
	delete(m, "readme")
	want, _ := json.Marshal(m)
	have, _ := json.Marshal(got)
	if string(want) != string(have) {
		t.Fatalf("the rest changed:\n%s\n%s", have, want)
	}
	// A duplicate readme: the last one counts, as it does when decoded.
	dup := []byte(`{"readme":"first","readme":"` + strings.Repeat("y", readmeLimit+1) + `"}`)
	if err := json.Unmarshal(slimManifest(dup), &got); err != nil || len(got["readme"].(string)) != readmeLimit {
		t.Fatalf("duplicate readme: %v", err)
	}
	// Manifests that need nothing come back as they are.
	for _, in := range []string{`{"readme":"short"}`, `{"name":"` + strings.Repeat("z", readmeLimit) + `"}`, `{"readme":` + strings.Repeat(" ", readmeLimit) + `{"a":1}}`, `[]`} {
		if out := slimManifest([]byte(in)); string(out) != in {
			t.Errorf("slimManifest(%.40s…) changed it", in)
		}
	}
}

// FuzzCutString checks the raw cut against decoding the whole string and
// cutting the characters.
func FuzzCutString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\u00e9\ud83d\ude00"`, `"\ud800\u0041x"`, `"é😀\n\t\\\/"`, "\"\xff\xfe\""} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, raw string, n int) {
		var s string
		if n < 0 || n > 1<<16 || json.Unmarshal([]byte(raw), &s) != nil || !strings.HasPrefix(raw, `"`) {
			return
		}
		got, _ := cutString([]byte(raw), n)
		var cut string
		if err := json.Unmarshal(got, &cut); err != nil {
			t.Fatalf("cutString(%q, %d) = %q: not a JSON string", raw, n, got)
		}
		if want := cutUTF16(s, n); cut != want {
			t.Fatalf("cutString(%q, %d) = %q, want %q", raw, n, cut, want)
		}
	})
}

// FuzzSlimManifest checks that a slim manifest is still the same JSON
// object but for a readme cut to the limit.
func FuzzSlimManifest(f *testing.F) {
	f.Add(`{"readme":"x","a":[1,{"b":"}"}]}`, readmeLimit+3)
	f.Add(`{"a":"\"","readme":"y"}`, readmeLimit)
	f.Fuzz(func(t *testing.T, doc string, pad int) {
		var m map[string]any
		if json.Unmarshal([]byte(doc), &m) != nil || m == nil || pad < 0 || pad > 2*readmeLimit {
			return
		}
		// Grow the readme, wherever the document put it, past the limit.
		if r, ok := m["readme"].(string); ok {
			m["readme"] = r + strings.Repeat("r", pad)
		}
		raw, _ := json.Marshal(m)
		var got map[string]any
		if err := json.Unmarshal(slimManifest(raw), &got); err != nil {
			t.Fatalf("slim manifest of %q is not JSON: %v", raw, err)
		}
		if r, ok := m["readme"].(string); ok {
			m["readme"] = cutUTF16(r, readmeLimit)
		}
		want, _ := json.Marshal(m)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Fatalf("slim manifest of %q:\n%s\nwant\n%s", doc, have, want)
		}
	})
}
