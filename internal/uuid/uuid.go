// Package uuid makes random (version 4) UUIDs: request ids, revision ids,
// event ids. It is the one generator; nothing else formats UUIDs.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random UUID in its canonical form,
// xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
