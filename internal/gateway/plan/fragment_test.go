package plan

import (
	"strings"
	"testing"
)

func TestSubjectFragmentFindsOnlyItsSubject(t *testing.T) {
	subjects := []string{"tenant:a", "tenant:a b", `tenant:"a"`, "key:1", "tenant:a " + `"x"`}
	for _, s := range subjects {
		for _, p := range []string{"gold", "x", `we"ird`} {
			key := quotaKey(p, s, PeriodDay)
			for _, other := range subjects {
				if got, want := strings.Contains(key, SubjectFragment(other)), other == s; got != want {
					t.Errorf("key %q contains fragment of %q: %v, want %v", key, other, got, want)
				}
			}
		}
	}
}
