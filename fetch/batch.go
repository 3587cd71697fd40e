package fetch

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/identity"
)

// IsIdentifier reports whether a --batch list item names an account rather
// than a file: a DID, or an at:// URI whose authority (a DID or a handle)
// is the account.
func IsIdentifier(item string) bool {
	return strings.HasPrefix(item, "did:") || strings.HasPrefix(item, "at://")
}

// Batch is arbor verify --batch --resolve: items that are identifiers are
// fetched from their account's PDS (sync.getRepo, streamed into the
// reader, nothing written to disk), other items are opened as files, and
// every repository is verified against the signing key of its DID's
// document: for a fetched one, the DID asked for (the commit must name it);
// for a file, the DID its commit names. Open and Options are
// archive.BatchOptions' hooks and are safe for concurrent use.
type Batch struct {
	Resolver *identity.Resolver

	mu   sync.Mutex
	docs map[string]*identity.Document // by item, between Open and Options
}

// Open opens item: a file, or for an identifier the getRepo stream of its
// account.
func (b *Batch) Open(item string) (io.ReadCloser, error) {
	if !IsIdentifier(item) {
		return os.Open(item)
	}
	ctx, cancel := context.WithCancel(context.Background())
	doc, err := b.resolve(ctx, item)
	if err != nil {
		cancel()
		return nil, err
	}
	if doc.PDS == "" {
		cancel()
		return nil, fmt.Errorf("%s: %w", item, doc.PDSErr)
	}
	b.mu.Lock()
	if b.docs == nil {
		b.docs = map[string]*identity.Document{}
	}
	b.docs[item] = doc
	b.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		_, err := b.Resolver.GetRepo(ctx, doc.PDS, doc.DID, "", pw, nil)
		pw.CloseWithError(err)
	}()
	return &stream{PipeReader: pr, cancel: cancel, forget: func() { b.forget(item) }}, nil
}

// Options gives the options to verify item with, read as a: the key of
// the document of the account asked for (a fetched item) or of the DID its
// commit names (a file). A bare tree has no commit: it is to be verified as
// needing one (arbor verify --resolve says the same).
func (b *Batch) Options(item string, a *archive.Archive) (archive.VerifyOptions, error) {
	b.mu.Lock()
	doc := b.docs[item]
	b.mu.Unlock()
	b.forget(item)
	var err error
	switch {
	case doc != nil:
	case IsIdentifier(item): // listed twice, and the other copy took it
		if doc, err = b.resolve(context.Background(), item); err != nil {
			return archive.VerifyOptions{}, err
		}
	case a.Commit == nil && a.CommitErr != nil:
		return archive.VerifyOptions{}, fmt.Errorf("--resolve: %w", a.CommitErr)
	case a.Commit == nil:
		return archive.VerifyOptions{RequireCommit: true}, nil
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 2*b.Resolver.Timeout)
		defer cancel()
		if doc, err = b.Resolver.ResolveDID(ctx, a.Commit.DID); err != nil {
			return archive.VerifyOptions{}, fmt.Errorf("--resolve: commit DID: %w", err)
		}
	}
	if doc.SigningKey == nil {
		return archive.VerifyOptions{}, fmt.Errorf("--resolve: %s: %w", doc.DID, doc.KeyErr)
	}
	return archive.VerifyOptions{Key: doc.SigningKey, DID: doc.DID, RequireCommit: true}, nil
}

// forget drops what Open kept for item.
func (b *Batch) forget(item string) {
	b.mu.Lock()
	delete(b.docs, item)
	b.mu.Unlock()
}

// resolve finds the document of the account item names.
func (b *Batch) resolve(ctx context.Context, item string) (*identity.Document, error) {
	authority := item
	if rest, ok := strings.CutPrefix(item, "at://"); ok {
		authority, _, _ = strings.Cut(rest, "/")
	}
	rctx, cancel := context.WithTimeout(ctx, 4*b.Resolver.Timeout)
	defer cancel()
	var did syntax.DID
	if strings.HasPrefix(authority, "did:") {
		d, err := identity.ParseDID(authority)
		if err != nil {
			return nil, err
		}
		did = d
	} else {
		d, _, err := b.Resolver.ResolveHandle(rctx, authority)
		if err != nil {
			return nil, err
		}
		did = d
	}
	return b.Resolver.ResolveDID(rctx, did)
}

// stream is a getRepo body being read; closing it stops the download.
type stream struct {
	*io.PipeReader
	cancel context.CancelFunc
	forget func()
}

func (s *stream) Close() error {
	s.cancel()
	s.forget()
	return s.PipeReader.Close()
}
