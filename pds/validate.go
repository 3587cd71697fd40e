package pds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/lexicon"
)

// Record validation on writes, as the reference PDS does it
// (createRecord, putRecord, applyWrites), with the code arbor verify
// --lexicon and arbor lexicon validate use (package lexicon):
//
//   - validate unset: a record of a known type is validated
//     (validationStatus "valid", or refused), one of an unknown type is
//     accepted with validationStatus "unknown";
//   - validate true: a record of an unknown type is refused too;
//   - validate false: no validation, and no validationStatus in the answer.
//
// A refused record is 400 InvalidRequest "Invalid TYPE record: PATH:
// PROBLEM", the reference's error name and message shape (the reference
// maps its InvalidRecordError to InvalidRequest), with arbor's JSON path
// and words for the problem. Every blob a record references must have
// been uploaded by the account (400 BlobNotFound "Could not find blob:
// CID", whatever validate says); when the record is validated, its
// schema's blob constraints are checked against the stored blob as the
// reference does (BlobTooLarge, InvalidMimeType) rather than against the
// size and type the reference declares.

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
		var constraints []lexicon.BlobRef
		if validate == nil || *validate {
			res := v.Validate(cat, w.value)
			if err := recordVerdict(&res, validate != nil); err != nil {
				return err
			}
			w.status, constraints = string(res.Status), res.Blobs
		}
		if err := s.checkWriteBlobs(ctx, a, w.value, constraints); err != nil {
			return err
		}
	}
	return nil
}

// recordVerdict is the answer to a validated record: nil to write it,
// else the reference's refusal. The schema's blob constraints are left
// to checkWriteBlobs (the reference checks them against the stored blob).
func recordVerdict(res *lexicon.Result, required bool) error {
	switch res.Status {
	case lexicon.NoSchema:
		if required {
			return invalidRequest("Unknown lexicon type: %s", res.Type)
		}
		return nil
	case lexicon.Valid:
		return nil
	}
	var issues []lexicon.Issue
	for _, is := range res.Issues {
		if is.Rule != lexicon.RuleBlobAccept && is.Rule != lexicon.RuleBlobSize {
			issues = append(issues, is)
		}
	}
	if len(issues) == 0 {
		res.Status, res.Issues = lexicon.Valid, nil
		return nil
	}
	msgs := make([]string, len(issues))
	for i, is := range issues {
		msgs[i] = is.String()
	}
	typ := res.Type
	if typ == "" {
		return invalidRequest("Invalid record: %s", strings.Join(msgs, "; "))
	}
	return invalidRequest("Invalid %s record: %s", typ, strings.Join(msgs, "; "))
}

// checkWriteBlobs checks every blob a record references: uploaded by the
// account, and, for the references constraints lists (a validated
// record's, with their schema's accept and maxSize), of a size and MIME
// type the schema accepts and of the MIME type the reference declares.
func (s *Server) checkWriteBlobs(ctx context.Context, a *Account, record []byte, constraints []lexicon.BlobRef) error {
	byPath := map[string]lexicon.BlobRef{}
	for _, c := range constraints {
		byPath[c.Path] = c
	}
	for _, ref := range lexicon.FindBlobs(record) {
		c, err := cid.Decode(ref.CID)
		if err != nil {
			return invalidRequest("Invalid blob reference at %s: %v", ref.Path, err)
		}
		meta, err := s.store.BlobMeta(ctx, a.DID, c)
		if errors.Is(err, ErrNotStored) {
			return xerr(http.StatusBadRequest, "BlobNotFound", "Could not find blob: %s", c)
		}
		if err != nil {
			return err
		}
		con, ok := byPath[ref.Path]
		if !ok {
			continue
		}
		if con.MaxSize >= 0 && meta.Size > con.MaxSize {
			return xerr(http.StatusBadRequest, "BlobTooLarge", "This file is too large. It is %d bytes but the maximum size is %d bytes.", meta.Size, con.MaxSize)
		}
		if ref.MimeType != meta.MimeType {
			return xerr(http.StatusBadRequest, "InvalidMimeType", "Referenced Mimetype does not match stored blob. Expected: %s, Got: %s", meta.MimeType, ref.MimeType)
		}
		if len(con.Accept) > 0 && !lexicon.MimeAccepted(con.Accept, meta.MimeType) {
			return xerr(http.StatusBadRequest, "InvalidMimeType", "Wrong type of file. It is %s but it must match %s.", meta.MimeType, strings.Join(con.Accept, ","))
		}
	}
	return nil
}
