package h2transport

import "testing"

// refuses: within the budget every stream is admitted; past it, only the
// connections holding more than their share are refused; past twice
// it, every connection is.
func TestBudgetRefuses(t *testing.T) {
	const limit = 16 << 20
	share := int64(limit / budgetShare)
	for _, tc := range []struct {
		used, held int64
		want       bool
	}{
		{used: 0, held: 0, want: false},
		{used: limit - streamOverhead, held: limit, want: false},
		{used: limit, held: share - 1, want: false},
		{used: limit, held: share, want: true},
		{used: 2*limit - streamOverhead, held: 0, want: false},
		{used: 2*limit - streamOverhead + 1, held: 0, want: true},
	} {
		b := &memBudget{limit: limit}
		b.used.Store(tc.used)
		if got := b.refuses(tc.held); got != tc.want {
			t.Errorf("used %d, connection holds %d: refuses %v, want %v", tc.used, tc.held, got, tc.want)
		}
	}
}

// New makes a budget unless WithStreamMemory turns it off; MemoryStats
// reports it.
func TestBudgetOption(t *testing.T) {
	if st := New().MemoryStats(); st.Budget != DefaultStreamMemory || st.InUse != 0 || st.Refused != 0 {
		t.Errorf("default: %+v", st)
	}
	if st := New(WithStreamMemory(1 << 20)).MemoryStats(); st.Budget != 1<<20 {
		t.Errorf("WithStreamMemory(1 MiB): %+v", st)
	}
	p := New(WithStreamMemory(0))
	if st := p.MemoryStats(); st != (MemoryStats{}) || p.opts.budget != nil {
		t.Errorf("WithStreamMemory(0): %+v, budget %v", st, p.opts.budget)
	}
}
