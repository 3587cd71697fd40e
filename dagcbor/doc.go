// Package dagcbor is arbor's strict DAG-CBOR codec for the AT Protocol data
// model, and its bridge to the atproto JSON form.
//
// # The data model
//
// atproto records, commits and MST nodes are values of a small data model:
// null, booleans, signed 64-bit integers, UTF-8 strings, byte strings, CID
// links, arrays, and maps with string keys. There are no floats. In Go,
// Decode, FromJSON and Unmarshal-into-any produce, and Encode, ToJSON and
// ValidateRecord accept:
//
//	null → nil, boolean → bool, integer → int64, string → string,
//	bytes → []byte, link → cid.Cid, array → []any, map → map[string]any
//
// (Encode and ToJSON also take the other Go integer types when in range,
// and *cid.Cid, nil meaning null.)
//
// # The binary form and its strictness rules
//
// The binary form is DAG-CBOR, the deterministic subset of CBOR (RFC 8949)
// defined by IPLD, further narrowed by atproto. There is exactly one
// encoding of each value, which is what makes a CID (a hash of the bytes) a
// name for the value. Validate, Decode, Unmarshal and every Reader method
// enforce, each failure being a *SyntaxError with the byte offset and one of
// the sentinel errors:
//
//   - integers, lengths and tag numbers in their shortest form (ErrNonMinimal);
//   - no indefinite-length strings, arrays or maps (ErrIndefinite);
//   - no floats (ErrFloat), no simple values but false, true, null
//     (ErrSimple), no reserved additional information 28-30 (ErrReserved);
//   - integers within int64 (ErrIntRange);
//   - only tag 42, whose content is a byte string holding 0x00 followed by
//     a binary CIDv1 (ErrTag, ErrBadLink); CIDv0 links are rejected;
//   - text strings in valid UTF-8 (ErrUTF8);
//   - map keys are text strings (ErrMapKey), sorted shorter first and then
//     bytewise (ErrKeyOrder), without duplicates (ErrDuplicateMapKey);
//   - nesting at most MaxDepth deep (ErrTooDeep); exactly one value with
//     nothing after it (ErrTrailing); no truncation, and no declared length
//     beyond the input (ErrTruncated, checked before allocating).
//
// Encode, Marshal and the Writer produce this canonical form; for any input
// that Decode accepts, Encode gives back the identical bytes, so the CID is
// preserved. Any CIDv1 is accepted as a link whatever its codec and hash:
// checking for the "blessed" dag-cbor/raw + sha2-256 combinations belongs
// to callers that need it.
//
// # Two codecs, on purpose
//
// Reader and Writer are the hot path: a single pass over a byte slice, no
// reflection, no intermediate values, Reader slices aliasing the input.
// Typed decoders for MST nodes and commits, which run millions of times
// when a repo is verified, use them directly and must call ReadMapKey to
// keep map keys in order. Validate and Decode are built on Reader and share
// its checks, so they reject exactly the same inputs at the same offsets.
//
// Marshal and Unmarshal are the convenient path for everything else: they
// are github.com/fxamacker/cbor/v2 configured for DAG-CBOR (length-first
// key sort, no indefinite lengths, duplicate keys and invalid UTF-8
// rejected, case-sensitive field names), working on Go structs with
// `cbor:"name,omitempty"` tags. fxamacker alone is not strict enough for
// atproto, so Unmarshal runs Validate first and Marshal runs Validate on
// its output (rejecting, for example, float fields). cid.Cid and *cid.Cid
// fields are registered as tag 42; fxamacker writes a CID through its
// MarshalBinary, without the 0x00 prefix DAG-CBOR wants, so Marshal and
// Unmarshal rewrite that one byte inside each link (see relink in
// codec.go). A struct and the map[string]any with the same fields encode to
// the same bytes.
//
// # The JSON form
//
// atproto's JSON form (used by XRPC and by arbor's --json output) writes
// links as {"$link": "<base32 CIDv1>"} and bytes as {"$bytes": "<standard
// base64, no padding>"}. ToJSON sorts object keys for stable output and
// refuses maps that use "$link" or "$bytes" as a key, since they would read
// back as something else. FromJSON accepts only documents whose top level
// is an object and enforces the data model: integers only (a literal such
// as 123.0 whose fraction is all zeros is read as the integer, as the
// interop vectors require; other fractions and any exponent are ErrFloat),
// exactly-one-key $link/$bytes objects in canonical form, "$type" always a
// non-empty string, and {"$type": "blob"} objects with exactly ref (a
// link), mimeType (a non-empty string) and size (a non-negative integer).
// Errors are *JSONError values with the byte offset and the path.
//
// A record is a map with a non-empty string "$type"; ValidateRecord checks
// that and the same conventions on a value built in Go.
package dagcbor
