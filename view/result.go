package view

// ServingLine is the one line arbor view --json prints once its page is
// served (that command's JSON schema).
type ServingLine struct {
	// URL is the page's address.
	URL string `json:"url"`
	// Files are the repositories shown, as given on the command line.
	Files []string `json:"files"`
}
