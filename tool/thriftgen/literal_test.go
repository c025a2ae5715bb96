package thriftgen

import "testing"

func TestFixDoubles(t *testing.T) {
	cases := map[string]string{
		"const double A = 1.5e-3":          "const double A = 0.0015",
		"const double A = 2E3, B = -1e2":   "const double A = 2000.0, B = -100.0",
		`const string S = "1e5" // 1e5`:    `const string S = "1e5" // 1e5`,
		"/* 3e2 */ const i32 x1e5 = 7":     "/* 3e2 */ const i32 x1e5 = 7",
		"const double A = 3.25":            "const double A = 3.25",
		"# 1e9\nconst double A = 1e1\n":    "# 1e9\nconst double A = 10.0\n",
		`const string S = 'it\'s 1e2' 4e0`: `const string S = 'it\'s 1e2' 4.0`,
	}
	for in, want := range cases {
		if got := fixDoubles(in); got != want {
			t.Errorf("fixDoubles(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`plain`:       "plain",
		`a\nb\tc\rd`:  "a\nb\tc\rd",
		`back\\slash`: `back\slash`,
		`q\"\'`:       `q"'`,
		`unknown\x`:   `unknown\x`,
		`trailing\`:   `trailing\`,
	}
	for in, want := range cases {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
