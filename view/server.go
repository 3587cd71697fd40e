package view

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/repo"
)

//go:embed assets
var assets embed.FS

// MaxReverseIndex is the largest repository (in records) for which the
// server indexes record CIDs to paths, so that CID links can be followed.
// Larger repositories still mark a linked CID as present in the file.
const MaxReverseIndex = 250_000

// Page sizes of the records API.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxDiffOps is the number of operations /api/diff lists.
	MaxDiffOps = 5000
)

// Input is one repository to show.
type Input struct {
	Name    string              // as the user named the file
	Archive archive.WithRecords // read with ReadWithBodies or ReadLazy, so records can be shown
}

// Options are the server's settings.
type Options struct {
	// Key, when set, is the public key the commit signatures are checked
	// against; otherwise the signature state is "not checked".
	Key atcrypto.PublicKey
}

// side is one repository and what was computed for it up front.
type side struct {
	id          string // "a" or "b"
	in          Input
	tree        *Browser
	signature   string
	sigDetail   string
	records     int
	collections map[string]int
	byCID       map[cid.Cid]string // record CID -> first path; nil past MaxReverseIndex
	// marked are the nodes only this side has (diff), "" when no diff.
	marked map[cid.Cid]bool
	mark   string
}

// Server serves the page and its JSON API for one repository or a pair.
type Server struct {
	sides []*side
	res   *diff.Result
	ops   map[string]diff.Op
	mux   *http.ServeMux
}

// NewServer prepares the server: it counts the records per collection of
// each input and, with two inputs, computes their diff (first to second).
func NewServer(inputs []Input, opts Options) (*Server, error) {
	if len(inputs) < 1 || len(inputs) > 2 {
		return nil, fmt.Errorf("view: need one or two repositories, got %d", len(inputs))
	}
	s := &Server{}
	for i, in := range inputs {
		sd, err := newSide(string(rune('a'+i)), in, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		s.sides = append(s.sides, sd)
	}
	if len(s.sides) == 2 {
		a, b := s.sides[0], s.sides[1]
		res, err := diff.Ops(a.in.Archive.Base(), a.in.Archive.Base().Data, b.in.Archive.Base(), b.in.Archive.Base().Data)
		if err != nil {
			return nil, fmt.Errorf("diff %s %s: %w", a.in.Name, b.in.Name, err)
		}
		s.res = res
		s.ops = make(map[string]diff.Op, len(res.Ops))
		for _, o := range res.Ops {
			s.ops[o.Path] = o
		}
		a.marked, a.mark = cidSet(res.DeletedNodes), "only-a"
		b.marked, b.mark = cidSet(res.CreatedNodes), "only-b"
	}
	s.routes()
	return s, nil
}

func cidSet(cs []cid.Cid) map[cid.Cid]bool {
	m := make(map[cid.Cid]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

func newSide(id string, in Input, opts Options) (*side, error) {
	a := in.Archive.Base()
	if a.CommitErr != nil {
		return nil, a.CommitErr
	}
	sd := &side{id: id, in: in, tree: NewBrowser(a, a.Data), collections: map[string]int{}}
	switch {
	case a.Commit == nil:
		sd.signature = "none: bare tree"
	case len(a.Commit.Sig) == 0:
		sd.signature = "absent"
	case opts.Key == nil:
		sd.signature = "not checked"
		sd.sigDetail = "start arbor view with --key to check it"
	default:
		if err := a.Commit.VerifySignature(opts.Key); err != nil {
			sd.signature, sd.sigDetail = "invalid", err.Error()
		} else {
			sd.signature = "valid"
		}
	}
	var paths []string // only while the index may be built
	var vals []cid.Cid
	indexing := true
	err := sd.tree.Seek("", func(key string, val cid.Cid) bool {
		sd.records++
		coll, _, _ := strings.Cut(key, "/")
		sd.collections[coll]++
		if indexing {
			if sd.records > MaxReverseIndex {
				indexing, paths, vals = false, nil, nil
			} else {
				paths, vals = append(paths, key), append(vals, val)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if indexing {
		sd.byCID = make(map[cid.Cid]string, len(vals))
		for i, v := range vals {
			if _, dup := sd.byCID[v]; !dup {
				sd.byCID[v] = paths[i]
			}
		}
	}
	return sd, nil
}

// ServeHTTP serves the page and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	s.mux.Handle("GET /", files)
	s.mux.HandleFunc("GET /api/commit", s.api(s.commit))
	s.mux.HandleFunc("GET /api/collections", s.api(s.collectionsAPI))
	s.mux.HandleFunc("GET /api/records", s.api(s.recordsAPI))
	s.mux.HandleFunc("GET /api/record", s.api(s.recordAPI))
	s.mux.HandleFunc("GET /api/node", s.api(s.nodeAPI))
	s.mux.HandleFunc("GET /api/path", s.api(s.pathAPI))
	s.mux.HandleFunc("GET /api/diff", s.api(s.diffAPI))
}

// httpError is an API error with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (s *Server) api(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			status := http.StatusInternalServerError
			var he *httpError
			if errors.As(err, &he) {
				status = he.status
			}
			w.WriteHeader(status)
			v = map[string]string{"error": err.Error()}
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
	}
}

// pick returns the side named by the "side" parameter ("a" by default).
func (s *Server) pick(r *http.Request) (*side, error) {
	switch id := r.URL.Query().Get("side"); id {
	case "", "a":
		return s.sides[0], nil
	case "b":
		if len(s.sides) == 2 {
			return s.sides[1], nil
		}
		return nil, badRequest("side b: only one repository is open")
	default:
		return nil, badRequest("side must be a or b, not %q", id)
	}
}

// CommitInfo is /api/commit's description of one side.
type CommitInfo struct {
	Side        string     `json:"side"`
	File        string     `json:"file"`
	Root        string     `json:"root"`
	BareTree    bool       `json:"bareTree"`
	DID         syntax.DID `json:"did,omitempty"`
	Rev         syntax.TID `json:"rev,omitempty"`
	Version     int64      `json:"version,omitempty"`
	Data        string     `json:"data"`
	Prev        string     `json:"prev,omitempty"`
	Signature   string     `json:"signature"`
	SigDetail   string     `json:"signatureDetail,omitempty"`
	Records     int        `json:"records"`
	Collections int        `json:"collections"`
	Blocks      int        `json:"blocks"`
	FileBytes   int64      `json:"fileBytes"`
}

// CommitResponse is the body of /api/commit.
type CommitResponse struct {
	Sides []CommitInfo `json:"sides"`
	Diff  bool         `json:"diff"`
}

func (s *Server) commit(*http.Request) (any, error) {
	out := CommitResponse{Diff: s.res != nil}
	for _, sd := range s.sides {
		a := sd.in.Archive.Base()
		ci := CommitInfo{Side: sd.id, File: sd.in.Name, Root: a.Root.String(), BareTree: a.IsBareTree(), Data: a.Data.String(),
			Signature: sd.signature, SigDetail: sd.sigDetail, Records: sd.records, Collections: len(sd.collections),
			Blocks: a.BlockCount, FileBytes: a.FileBytes}
		if c := a.Commit; c != nil {
			ci.DID, ci.Rev, ci.Version = c.DID, c.Rev, c.Version
			if c.Prev.Defined() {
				ci.Prev = c.Prev.String()
			}
		}
		out.Sides = append(out.Sides, ci)
	}
	return out, nil
}

// Collection is one entry of /api/collections.
type Collection struct {
	Name    string `json:"collection"`
	Records int    `json:"records"`
	Changed int    `json:"changed,omitempty"` // operations of the diff in it
}

func (s *Server) collectionsAPI(r *http.Request) (any, error) {
	sd, err := s.pick(r)
	if err != nil {
		return nil, err
	}
	changed := map[string]int{}
	if s.res != nil {
		for _, o := range s.res.Ops {
			changed[o.Collection()]++
		}
	}
	out := []Collection{}
	for name, n := range sd.collections {
		out = append(out, Collection{Name: name, Records: n, Changed: changed[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RecordRef is one record in a listing.
type RecordRef struct {
	Path   string `json:"path"`
	CID    string `json:"cid"`
	Change string `json:"change,omitempty"` // created, updated, deleted (diff)
}

// RecordsPage is the body of /api/records.
type RecordsPage struct {
	Records []RecordRef `json:"records"`
	// Next is the cursor of the next page; "" at the end.
	Next string `json:"next"`
}

// change names the diff operation on path, "" when none.
func (s *Server) change(path string) string {
	o, ok := s.ops[path]
	if !ok {
		return ""
	}
	switch o.Action() {
	case diff.Create:
		return "created"
	case diff.Update:
		return "updated"
	case diff.Delete:
		return "deleted"
	}
	return ""
}

func (s *Server) recordsAPI(r *http.Request) (any, error) {
	sd, err := s.pick(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	coll := q.Get("collection")
	limit := DefaultPageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			return nil, badRequest("limit must be 1 to %d", MaxPageSize)
		}
		limit = n
	}
	prefix := ""
	if coll != "" {
		prefix = coll + "/"
	}
	cursor := q.Get("cursor")
	from := prefix
	if cursor != "" {
		if !strings.HasPrefix(cursor, prefix) {
			return nil, badRequest("cursor %q is not in collection %q", cursor, coll)
		}
		from = cursor
	}
	page := RecordsPage{Records: []RecordRef{}}
	err = sd.tree.Seek(from, func(key string, val cid.Cid) bool {
		if key == cursor {
			return true
		}
		if !strings.HasPrefix(key, prefix) {
			return false
		}
		if len(page.Records) == limit {
			page.Next = page.Records[limit-1].Path
			return false
		}
		page.Records = append(page.Records, RecordRef{Path: key, CID: val.String(), Change: s.change(key)})
		return true
	})
	return page, err
}

// Link is a value in a record that names another record of the repository.
type Link struct {
	Value string `json:"value"` // the at:// URI or CID as it appears in the JSON
	Kind  string `json:"kind"`  // "uri" or "cid"
	Path  string `json:"path,omitempty"`
	// InFile is true for a CID the file holds but no indexed path has.
	InFile bool `json:"inFile,omitempty"`
}

// RecordResponse is the body of /api/record.
type RecordResponse struct {
	Side   string             `json:"side"`
	Path   string             `json:"path"`
	URI    string             `json:"uri,omitempty"`
	CID    string             `json:"cid"`
	Value  json.RawMessage    `json:"value"`
	Links  []Link             `json:"links"`
	Change string             `json:"change,omitempty"`
	Other  string             `json:"otherCid,omitempty"` // the other side's CID (update)
	Fields []diff.FieldChange `json:"fields,omitempty"`
}

func (s *Server) recordAPI(r *http.Request) (any, error) {
	sd, err := s.pick(r)
	if err != nil {
		return nil, err
	}
	path := r.URL.Query().Get("path")
	if path == "" {
		return nil, badRequest("path is required")
	}
	a := sd.in.Archive.Base()
	rc, found, err := sd.tree.Get(path)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("no record %s in %s", path, sd.in.Name)
	}
	body, err := a.Get(rc)
	if err != nil {
		return nil, fmt.Errorf("record %s (block %s): %w", path, rc, err)
	}
	v, err := dagcbor.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("record %s (block %s): %w", path, rc, err)
	}
	js, err := dagcbor.ToJSON(v)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	out := RecordResponse{Side: sd.id, Path: path, CID: rc.String(), Value: js, Links: s.links(sd, v), Change: s.change(path)}
	if a.Commit != nil {
		out.URI = "at://" + a.Commit.DID.String() + "/" + path
	}
	if o, ok := s.ops[path]; ok && o.Action() == diff.Update {
		other, oldBody, newBody := o.New, body, []byte(nil)
		if sd.id == "b" {
			other = o.Old
		}
		ob, err := s.otherSide(sd).in.Archive.Base().Get(other)
		if err == nil {
			if sd.id == "a" {
				newBody = ob
			} else {
				oldBody, newBody = ob, body
			}
			out.Fields, _ = diff.Fields(oldBody, newBody)
		}
		out.Other = other.String()
	}
	return out, nil
}

func (s *Server) otherSide(sd *side) *side {
	if sd == s.sides[0] {
		return s.sides[1]
	}
	return s.sides[0]
}

// links finds the at:// URIs and CID links in a decoded record that name
// records of this repository.
func (s *Server) links(sd *side, v any) []Link {
	out := []Link{}
	seen := map[string]bool{}
	did := ""
	if sd.in.Archive.Base().Commit != nil {
		did = sd.in.Archive.Base().Commit.DID.String()
	}
	var rec func(v any)
	rec = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				rec(x[k])
			}
		case []any:
			for _, e := range x {
				rec(e)
			}
		case string:
			if !strings.HasPrefix(x, "at://") || seen[x] {
				return
			}
			seen[x] = true
			auth, coll, rkey, err := repo.ParseATURI(x)
			if err != nil || coll == "" || rkey == "" || auth != did {
				return
			}
			if _, found, err := sd.tree.Get(coll + "/" + rkey); err == nil && found {
				out = append(out, Link{Value: x, Kind: "uri", Path: coll + "/" + rkey})
			}
		case cid.Cid:
			k := x.String()
			if seen[k] {
				return
			}
			seen[k] = true
			if p, ok := sd.byCID[x]; ok {
				out = append(out, Link{Value: k, Kind: "cid", Path: p})
			} else if sd.byCID == nil && sd.in.Archive.Base().Has(x) {
				out = append(out, Link{Value: k, Kind: "cid", InFile: true})
			}
		}
	}
	rec(v)
	return out
}

// NodeSummary describes a node without its entries.
type NodeSummary struct {
	CID        string `json:"cid"`
	Layer      int    `json:"layer"`
	EntryCount int    `json:"entryCount"`
	FirstKey   string `json:"firstKey,omitempty"`
	LastKey    string `json:"lastKey,omitempty"`
	Mark       string `json:"mark,omitempty"` // only-a / only-b (diff)
}

// NodeEntry is one entry in /api/node.
type NodeEntry struct {
	Key    string       `json:"key"`
	Value  string       `json:"value"`
	Height int          `json:"height"`
	Change string       `json:"change,omitempty"`
	Right  *NodeSummary `json:"right"`
}

// NodeResponse is the body of /api/node: a node, its entries and the
// summaries of its subtrees.
type NodeResponse struct {
	NodeSummary
	Root    bool         `json:"root"`
	Left    *NodeSummary `json:"left"`
	Entries []NodeEntry  `json:"entries"`
}

func (s *Server) summary(sd *side, c cid.Cid) (*NodeSummary, error) {
	if !c.Defined() {
		return nil, nil
	}
	n, err := sd.tree.Node(c)
	if err != nil {
		return nil, err
	}
	first, last, err := sd.tree.KeyRange(c)
	if err != nil {
		return nil, err
	}
	ns := &NodeSummary{CID: c.String(), Layer: n.Layer, EntryCount: len(n.Entries), FirstKey: first, LastKey: last}
	if sd.marked[c] {
		ns.Mark = sd.mark
	}
	return ns, nil
}

func (s *Server) nodeAPI(r *http.Request) (any, error) {
	sd, err := s.pick(r)
	if err != nil {
		return nil, err
	}
	c := sd.tree.Root()
	if q := r.URL.Query().Get("cid"); q != "" {
		if c, err = cid.Decode(q); err != nil {
			return nil, badRequest("cid: %v", err)
		}
	}
	if !sd.in.Archive.Base().Has(c) {
		return nil, notFound("no block %s in %s", c, sd.in.Name)
	}
	n, err := sd.tree.Node(c)
	if err != nil {
		return nil, err
	}
	sum, err := s.summary(sd, c)
	if err != nil {
		return nil, err
	}
	out := NodeResponse{NodeSummary: *sum, Root: c == sd.tree.Root(), Entries: []NodeEntry{}}
	if out.Left, err = s.summary(sd, n.Left); err != nil {
		return nil, err
	}
	for _, e := range n.Entries {
		ne := NodeEntry{Key: e.Key, Value: e.Value.String(), Height: heightOf(e.Key), Change: s.change(e.Key)}
		if ne.Right, err = s.summary(sd, e.Right); err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, ne)
	}
	return out, nil
}

// PathResponse is the body of /api/path: the search path of a key.
type PathResponse struct {
	Key    string   `json:"key"`
	Height int      `json:"height"`
	Found  bool     `json:"found"`
	Nodes  []string `json:"nodes"` // from the root down
	Layers []int    `json:"layers"`
}

func (s *Server) pathAPI(r *http.Request) (any, error) {
	sd, err := s.pick(r)
	if err != nil {
		return nil, err
	}
	key := r.URL.Query().Get("key")
	if key == "" {
		return nil, badRequest("key is required")
	}
	nodes, found, err := sd.tree.Path(key)
	if err != nil {
		return nil, err
	}
	out := PathResponse{Key: key, Height: heightOf(key), Found: found, Nodes: []string{}, Layers: []int{}}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, n.CID.String())
		out.Layers = append(out.Layers, n.Layer)
	}
	return out, nil
}

// DiffOp is one operation in /api/diff.
type DiffOp struct {
	Action string `json:"action"`
	Path   string `json:"path"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// DiffResponse is the body of /api/diff.
type DiffResponse struct {
	Creates      int      `json:"creates"`
	Updates      int      `json:"updates"`
	Deletes      int      `json:"deletes"`
	Ops          []DiffOp `json:"ops"`
	Truncated    bool     `json:"truncated"` // more than MaxDiffOps operations
	CreatedNodes []string `json:"createdNodes"`
	DeletedNodes []string `json:"deletedNodes"`
}

func (s *Server) diffAPI(*http.Request) (any, error) {
	if s.res == nil {
		return nil, notFound("no diff: only one repository is open")
	}
	out := DiffResponse{Ops: []DiffOp{}, CreatedNodes: strs(s.res.CreatedNodes), DeletedNodes: strs(s.res.DeletedNodes)}
	out.Creates, out.Updates, out.Deletes = s.res.Counts()
	for i, o := range s.res.Ops {
		if i == MaxDiffOps {
			out.Truncated = true
			break
		}
		d := DiffOp{Action: s.change(o.Path), Path: o.Path}
		if o.Old.Defined() {
			d.Old = o.Old.String()
		}
		if o.New.Defined() {
			d.New = o.New.String()
		}
		out.Ops = append(out.Ops, d)
	}
	return out, nil
}

func strs(cs []cid.Cid) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}
