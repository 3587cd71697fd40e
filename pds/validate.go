package pds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/lexicon"
)

// Record validation on writes, as the reference PDS (@atproto/pds 0.5)
// does it (createRecord, putRecord, applyWrites), with the code arbor
// verify --lexicon and arbor lexicon validate use (package lexicon).
// golden/pds/validation-reference.json holds the reference's own answers
// to the cases of pds/e2e/validation.mjs, and
// TestValidationMatchesReference holds arbor's to them.
//
//   - validate unset: a record whose $type names a record schema of the
//     catalog is validated (validationStatus "valid", or refused); any
//     other $type (unknown, or naming a query or an object) is accepted
//     with validationStatus "unknown";
//   - validate true: a record of an unknown type is refused too;
//   - validate false: no validation, and no validationStatus in the answer.
//
// A validated record's key must be of its schema's key type (tid,
// literal:self, ...), and the record must match the schema, blob
// references included: their declared MIME type and size against the
// schema's accept and maxSize, and no legacy {cid, mimeType} reference
// where the schema wants a blob. A refused record is 400 InvalidRequest
// "Invalid TYPE record: PATH: PROBLEM" (the reference maps its
// InvalidRecordError to InvalidRequest), PATH being where the value is in
// the request as the reference names it ($.record.text,
// $.writes[0].record.text; for a missing field, the object that lacks it),
// with arbor's words for the problem.
//
// Whatever validate says, every blob a record references must be a
// current reference (a legacy one is refused), must have been uploaded by
// the account (400 BlobNotFound "Could not find blob: CID"), and must be
// declared with the MIME type and size the stored blob has (400
// InvalidMimeType, InvalidSize).

// lexCatalog loads the embedded catalog once per server, on the first
// write that needs it.
type lexCatalog struct {
	once sync.Once
	cat  *lexicon.Catalog
	err  error
}

func (s *Server) catalog() (*lexicon.Catalog, error) {
	s.lex.once.Do(func() { s.lex.cat, s.lex.err = lexicon.Load() })
	return s.lex.cat, s.lex.err
}

// validateWrites validates every create and update of writes as validate
// (nil: unset) asks, setting each write's status ("valid", "unknown", or
// "" when not validated), and checks the blobs they reference.
func (s *Server) validateWrites(ctx context.Context, a *Account, writes []*write, validate *bool) error {
	cat, err := s.catalog()
	if err != nil {
		return fmt.Errorf("loading the lexicon catalog: %w", err)
	}
	var v lexicon.Validator
	for _, w := range writes {
		if w.action == "delete" {
			continue
		}
		if validate == nil || *validate {
			if w.status, err = validateRecord(cat, &v, w, validate != nil); err != nil {
				return w.locate(err)
			}
		}
		if err := s.checkWriteBlobs(ctx, a, w); err != nil {
			return w.locate(err)
		}
	}
	return nil
}

// validateRecord validates one write's record (its $type is its
// collection: prepareRecord saw to it) and returns its validationStatus,
// or the reference's refusal. required is validate true.
func validateRecord(cat *lexicon.Catalog, v *lexicon.Validator, w *write, required bool) (string, error) {
	typ := w.collection
	keyType, ok := cat.RecordKeyType(typ)
	if !ok {
		if required {
			return "", invalidRequest("Unknown lexicon type: %s", typ)
		}
		return string(lexicon.NoSchema), nil
	}
	if err := lexicon.CheckRecordKey(keyType, w.rkey); err != nil {
		return "", invalidRequest("Invalid record key for %s: %v", typ, err)
	}
	res := v.Validate(cat, w.value)
	issues := res.Issues
	for _, b := range res.Blobs {
		if b.Size < 0 {
			issues = append(issues, lexicon.Issue{Path: b.Path, Rule: lexicon.RuleType, Message: "a legacy blob reference ({cid, mimeType}); a new record needs {$type: blob, ref, mimeType, size}"})
		}
	}
	if len(issues) == 0 {
		return string(lexicon.Valid), nil
	}
	msgs := make([]string, len(issues))
	for i, is := range issues {
		msgs[i] = requestIssue(w.recordPath(), is)
	}
	return "", invalidRequest("Invalid %s record: %s", typ, strings.Join(msgs, "; "))
}

// requestIssue renders a record's issue with its path in the request
// (base is where the record is): a missing field is named in the object
// that lacks it, a refused MIME type at the blob's mimeType, as the
// reference does.
func requestIssue(base string, is lexicon.Issue) string {
	path, msg := is.Path, is.Message
	switch is.Rule {
	case lexicon.RuleRequired:
		if parent, key, ok := splitPath(path); ok {
			path, msg = parent, fmt.Sprintf("required field %q missing", key)
		}
	case lexicon.RuleBlobAccept:
		path += ".mimeType"
	}
	return base + strings.TrimPrefix(path, "$") + ": " + msg
}

// splitPath splits a JSON path of package lexicon ($.a.b, $.a["odd key"])
// into its parent and last key.
func splitPath(p string) (parent, key string, ok bool) {
	if strings.HasSuffix(p, "\"]") {
		i := strings.LastIndex(p, "[\"")
		if i < 0 {
			return "", "", false
		}
		k, err := strconv.Unquote(p[i+1 : len(p)-1])
		return p[:i], k, err == nil
	}
	i := strings.LastIndexByte(p, '.')
	if i < 0 || strings.HasSuffix(p, "]") {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// checkWriteBlobs checks every blob reference of a write's record, as the
// reference does whatever validate says: no legacy reference, uploaded by
// the account, declared with the stored blob's MIME type and size.
func (s *Server) checkWriteBlobs(ctx context.Context, a *Account, w *write) error {
	refs := lexicon.FindBlobs(w.value)
	for _, ref := range refs {
		if ref.Size < 0 {
			return invalidRequest("Legacy blobs are not allowed (%s)", ref.CID)
		}
	}
	for _, ref := range refs {
		c, err := cid.Decode(ref.CID)
		if err != nil {
			return invalidRequest("Invalid blob reference at %s%s: %v", w.recordPath(), strings.TrimPrefix(ref.Path, "$"), err)
		}
		meta, err := s.store.BlobMeta(ctx, a.DID, c)
		if errors.Is(err, ErrNotStored) {
			return xerr(http.StatusBadRequest, "BlobNotFound", "Could not find blob: %s", c)
		}
		if err != nil {
			return err
		}
		if ref.MimeType != meta.MimeType {
			return xerr(http.StatusBadRequest, "InvalidMimeType", "Referenced Mimetype does not match stored blob. Expected: %s, Got: %s", meta.MimeType, ref.MimeType)
		}
		if ref.Size != meta.Size {
			return xerr(http.StatusBadRequest, "InvalidSize", "Referenced Size does not match stored blob. Expected: %d, Got: %d", meta.Size, ref.Size)
		}
	}
	return nil
}
