package pds

// The result types below are what arbor pds's commands print with --json;
// each is that command's JSON schema (docs/json.md is generated from them).

// ServingLine is the one line arbor pds serve --json prints when the server
// is ready.
type ServingLine struct {
	// AdminPassword is the password of the server's admin account.
	AdminPassword string `json:"adminPassword"`
	// Data is the data directory; null when the data is temporary (deleted
	// on exit).
	Data *string `json:"data"`
	// PLC is the URL of the did:plc directory the server uses.
	PLC string `json:"plc"`
	// URL is where the server answers.
	URL string `json:"url"`
}

// NewServingLine describes s, serving from dataDir ("" for temporary data).
func NewServingLine(s *Server, dataDir string) ServingLine {
	l := ServingLine{AdminPassword: s.AdminPassword(), PLC: s.PLCURL(), URL: s.URL()}
	if dataDir != "" {
		l.Data = &dataDir
	}
	return l
}

// CreatedAccount is an account arbor pds account create made.
type CreatedAccount struct {
	// DID is the account's new did:plc.
	DID string `json:"did"`
	// Email is its email address, lower-cased, when one was given.
	Email string `json:"email,omitempty"`
	// Handle is its handle.
	Handle string `json:"handle"`
	// URL is the server it lives on.
	URL string `json:"url"`
}

// AccountList is every account of a server (arbor pds account list).
type AccountList struct {
	// Accounts are the accounts, in the server's order.
	Accounts []AccountSummary `json:"accounts"`
	// Count counts them.
	Count int `json:"count"`
	// URL is the server.
	URL string `json:"url"`
}

// AccountSummary is one account of an AccountList, as
// com.atproto.admin.searchAccounts describes it.
type AccountSummary struct {
	// Handle is the account's handle.
	Handle string `json:"handle"`
	// DID is its DID.
	DID string `json:"did"`
	// Email is its email address, if it has one.
	Email string `json:"email,omitempty"`
	// IndexedAt is when it was created.
	IndexedAt string `json:"indexedAt"`
}
