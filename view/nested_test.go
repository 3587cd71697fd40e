package view

// Nested builds the nested JSON form in memory (CIDs always whole): the
// oracle that the streaming writer, JSON, is checked against. Product code
// streams; this walk, which holds the whole tree, lives only in tests.
func Nested(t *Browser, opts RenderOptions) (*JSONTree, error) {
	jv := &jsonVisitor{}
	s, err := walk(t, opts, jv)
	if err != nil {
		return nil, err
	}
	return &JSONTree{Root: t.Root().String(), Nodes: s.Nodes, Records: s.Records, Depth: s.Depth, Cut: s.Truncated, Tree: jv.root}, nil
}

type jsonVisitor struct {
	root  *JSONNode
	stack []*JSONNode
}

func (v *jsonVisitor) open(n *Node, first, last string, depth int, truncated bool) error {
	jn := &JSONNode{CID: n.CID.String(), Layer: n.Layer, EntryCount: len(n.Entries), FirstKey: first, LastKey: last, Truncated: truncated, Entries: []JSONEntry{}}
	if len(v.stack) == 0 {
		v.root = jn
	} else {
		p := v.stack[len(v.stack)-1]
		if len(p.Entries) == 0 {
			p.Left = jn
		} else {
			p.Entries[len(p.Entries)-1].Right = jn
		}
	}
	v.stack = append(v.stack, jn)
	return nil
}

func (v *jsonVisitor) entry(n *Node, i int, depth int) error {
	p := v.stack[len(v.stack)-1]
	p.Entries = append(p.Entries, JSONEntry{Key: n.Entries[i].Key, Value: n.Entries[i].Value.String()})
	return nil
}

func (v *jsonVisitor) close(*Node, int) error {
	v.stack = v.stack[:len(v.stack)-1]
	return nil
}
