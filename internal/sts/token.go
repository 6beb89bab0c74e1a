package sts

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/tenant"
)

// The sealed part of a version-1 token: the session and its secret in a
// compact binary form. Integers are unsigned varints in their shortest form;
// a string is its length as such a varint, then its bytes.
//
//	id        16 bytes   Session.ID, raw
//	secret    30 bytes   the secret access key, raw (40 characters in base64)
//	issued    varint     Unix seconds
//	lifetime  varint     seconds from issued to expiry, at least 1
//	account, role ARN, role name, role id, session name, environment,
//	session policy       strings
//	tags      varint n, then n (key, value) string pairs
//	padding   2-byte big-endian length, then that many zero bytes (none
//	          unless the caller asked for a minimum token size; a fixed-size
//	          length makes every token size up to the maximum reachable)
//
// The access key id is not sealed: it is the AEAD's additional data, so a
// token opens only with the access key id it was issued with.

const (
	idSize     = 16
	secretSize = 30
	// The largest Unix second and lifetime a token may carry: both far beyond
	// any real value, and small enough that time.Unix cannot overflow.
	maxUnix     = 1 << 40
	maxLifetime = 1 << 32
)

var errMalformed = errors.New("malformed session")

// appendSession appends the sealed form of s, with its raw id and secret, to
// dst. s must be valid (Session.validate).
func appendSession(dst []byte, s *Session, id *[idSize]byte, secret *[secretSize]byte, padding uint16) []byte {
	dst = append(dst, id[:]...)
	dst = append(dst, secret[:]...)
	dst = binary.AppendUvarint(dst, uint64(s.Issued.Unix()))
	dst = binary.AppendUvarint(dst, uint64(s.Expires.Unix()-s.Issued.Unix()))
	for _, str := range [...]string{s.Account, s.RoleARN, s.RoleName, s.RoleID, s.SessionName, s.Environment, s.SessionPolicy} {
		dst = appendString(dst, str)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Tags)))
	for _, t := range s.Tags {
		dst = appendString(dst, t.Key)
		dst = appendString(dst, t.Value)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(padding))
	return append(dst, make([]byte, padding)...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeSession parses the sealed form. It accepts exactly what
// appendSession writes (shortest varints, no trailing bytes), so a decoded
// session encodes back to the same bytes. AccessKeyID is left empty.
func decodeSession(b []byte) (s Session, secret [secretSize]byte, err error) {
	if len(b) < idSize+secretSize {
		return Session{}, secret, errMalformed
	}
	s.ID = hex.EncodeToString(b[:idSize])
	copy(secret[:], b[idSize:idSize+secretSize])
	// One string for every text field: they are substrings of it, so the
	// decoder allocates once for all of them.
	d := decoder{buf: string(b[idSize+secretSize:])}
	issued, lifetime := d.uvarint(), d.uvarint()
	s.Account = d.string()
	s.RoleARN = d.string()
	s.RoleName = d.string()
	s.RoleID = d.string()
	s.SessionName = d.string()
	s.Environment = d.string()
	s.SessionPolicy = d.string()
	n := d.uvarint()
	if d.failed || issued >= maxUnix || lifetime == 0 || lifetime > maxLifetime || n > MaxTags {
		return Session{}, secret, errMalformed
	}
	if n > 0 {
		s.Tags = make(Tags, n)
		for i := range s.Tags {
			s.Tags[i] = Tag{Key: d.string(), Value: d.string()}
		}
	}
	padding := d.padding()
	if d.failed || d.off != len(d.buf) || strings.Trim(padding, "\x00") != "" {
		return Session{}, secret, errMalformed
	}
	s.Issued = time.Unix(int64(issued), 0).UTC()
	s.Expires = s.Issued.Add(time.Duration(lifetime) * time.Second)
	if v, ok := s.Tags.Get(TenantTag); ok && v != "" {
		if s.Tenant, err = tenant.Parse(v); err != nil {
			return Session{}, secret, errMalformed
		}
	}
	return s, secret, nil
}

// decoder reads varints and strings from buf; after the first failure every
// read returns a zero value and failed stays set.
type decoder struct {
	buf    string
	off    int
	failed bool
}

func (d *decoder) uvarint() uint64 {
	if d.failed {
		return 0
	}
	var v uint64
	for i, shift := 0, uint(0); d.off+i < len(d.buf) && i < binary.MaxVarintLen64; i, shift = i+1, shift+7 {
		c := d.buf[d.off+i]
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			// Shortest form only: a last byte of zero (other than for the
			// value 0 itself) means the encoder would have stopped earlier.
			if (c == 0 && i > 0) || (i == binary.MaxVarintLen64-1 && c > 1) {
				break
			}
			d.off += i + 1
			return v
		}
	}
	d.failed = true
	return 0
}

func (d *decoder) padding() string {
	if d.failed || len(d.buf)-d.off < 2 {
		d.failed = true
		return ""
	}
	n := int(d.buf[d.off])<<8 | int(d.buf[d.off+1])
	d.off += 2
	if n > len(d.buf)-d.off {
		d.failed = true
		return ""
	}
	s := d.buf[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.failed || n > uint64(len(d.buf)-d.off) {
		d.failed = true
		return ""
	}
	s := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
