package generic_test

import (
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/generic"
)

// FuzzJSONToThrift feeds arbitrary JSON to the JSON to Thrift converter.
// It must not panic; what it accepts must read back, and reading back is
// stable: converting the read-back JSON again gives the same JSON.
func FuzzJSONToThrift(f *testing.F) {
	for _, s := range []string{
		fullJSON, fullWant, `{}`, `{"id":""}`, `null`, `{"id":"a","scalars":{"l":"-9223372036854775808"}}`,
		`{"id":"a","containers":{"byPoint":[]}}`, `{"id":"\ud83d\ude00\u0000"}`, `{"id":"a","inner":{"children":[{"children":[]}]}}`,
		`{"id":"a","scalars":{"d":1e308,"bin":"AA"}}`, `{"id":"a","shape":{}}`, `[`, `{"id":"a",}`, `{"id":"\x"}`,
	} {
		f.Add(s)
	}
	m, err := generic.ThriftJSON(loadIDL(f)).Method("AllTypes", "echo")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args, err := m.EncodeRequest(nil, in)
		if err != nil {
			return
		}
		back, err := m.DecodeRequest(args)
		if err != nil {
			t.Fatalf("accepted %q but cannot read back %x: %v", in, args, err)
		}
		args2, err := m.EncodeRequest(nil, back)
		if err != nil {
			t.Fatalf("read back %s from %q, which does not convert again: %v", back, in, err)
		}
		back2, err := m.DecodeRequest(args2)
		if err != nil || back2 != back {
			t.Fatalf("unstable: %s then %s (%v)", back, back2, err)
		}
	})
}

// FuzzThriftToJSON feeds arbitrary bytes as an args struct: reading must
// not panic, and what reads must convert back.
func FuzzThriftToJSON(f *testing.F) {
	m, err := generic.ThriftJSON(loadIDL(f)).Method("AllTypes", "echo")
	if err != nil {
		f.Fatal(err)
	}
	seed, err := m.EncodeRequest(nil, fullJSON)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{0})
	f.Add([]byte{12, 0, 1, 15, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		js, err := m.DecodeRequest(in)
		if err != nil {
			return
		}
		if _, err := m.EncodeRequest(nil, js); err != nil {
			// Missing required fields and fields given twice are the
			// expected failures: the wire may omit or repeat them.
			if ge, ok := err.(*generic.Error); !ok || ge.Msg != "required field missing" && ge.Msg != "required argument missing" &&
				ge.Msg != "field given twice" && !strings.HasSuffix(ge.Msg, "want at most one") {
				t.Fatalf("read %s from %x, which does not convert back: %v", js, in, err)
			}
		}
	})
}
