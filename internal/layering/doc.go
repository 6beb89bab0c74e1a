// Package layering holds no code: its test enforces the import rules of
// ARCHITECTURE.md and STYLE.md (rule 15) over the whole module, so they are
// checked by `make check`, not by memory.
package layering
