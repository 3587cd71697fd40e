package commands

import (
	"reflect"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/fetch"
	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/lexicon"
	"github.com/arbor-atproto/arbor/migrate"
	"github.com/arbor-atproto/arbor/pds"
	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/repo"
	"github.com/arbor-atproto/arbor/view"
)

// jsonShape declares what one command prints with --json.
type jsonShape struct {
	// Result is the type of what is printed: an exported struct declared
	// in the core package that computes it. Its json tags are the JSON
	// members; docs/json.md is generated from it.
	Result reflect.Type
	// Lines says the command prints a stream, one compact Result per line,
	// rather than one indented document.
	Lines bool
	// Compact says the one document is written compact, on one line (it is
	// streamed as it is computed).
	Compact bool
}

// jsonShapes is every command's --json shape, keyed by the command's path
// below arbor ("plc verify"); a flag that makes the command print another
// document is keyed after the path ("plc verify --export"). A test checks that every command with a
// --json flag is here and that its output decodes into Result with no
// member left over.
func jsonShapes() map[string]jsonShape {
	return map[string]jsonShape{
		"key generate":              shapeOf[build.NewKeyResult](),
		"key inspect":               shapeOf[repo.KeyInfo](),
		"inspect":                   shapeOf[archive.InspectReport](),
		"ls":                        {Result: reflect.TypeFor[archive.RecordLine](), Lines: true},
		"get":                       shapeOf[archive.RecordValue](),
		"export":                    shapeOf[archive.ExportReport](),
		"verify":                    shapeOf[archive.VerifyReport](),
		"verify --batch":            {Result: reflect.TypeFor[archive.BatchLine](), Lines: true},
		"apply":                     shapeOf[diff.ApplyReport](),
		"diff":                      shapeOf[diff.Report](),
		"view":                      {Result: reflect.TypeFor[view.ServingLine](), Lines: true},
		"create":                    shapeOf[build.CreateReport](),
		"rewrite":                   shapeOf[build.RewriteReport](),
		"mst":                       {Result: reflect.TypeFor[view.JSONTree](), Compact: true},
		"firehose":                  {Result: reflect.TypeFor[firehose.EventLine](), Lines: true},
		"fetch":                     shapeOf[fetch.Report](),
		"backup":                    shapeOf[backup.Summary](),
		"backup verify":             shapeOf[backup.VerifyReport](),
		"resolve":                   shapeOf[identity.Resolution](),
		"pds serve":                 {Result: reflect.TypeFor[pds.ServingLine](), Lines: true},
		"pds account create":        shapeOf[pds.CreatedAccount](),
		"pds account list":          shapeOf[pds.AccountList](),
		"plc genesis":               shapeOf[plc.SignedOp](),
		"plc did":                   shapeOf[plc.GenesisCheck](),
		"plc update":                shapeOf[plc.SignedOp](),
		"plc rollback":              shapeOf[plc.RollbackReport](),
		"plc verify":                shapeOf[plc.LogVerdict](),
		"plc verify --export":       shapeOf[plc.ExportReport](),
		"plc history":               shapeOf[plc.History](),
		"plc submit":                shapeOf[plc.Submission](),
		"lexicon validate":          shapeOf[lexicon.ValidateReport](),
		"lexicon lint":              shapeOf[lexicon.LintReport](),
		"lexicon ls":                shapeOf[lexicon.CatalogList](),
		"migrate":                   shapeOf[migrate.Report](),
		"account login":             shapeOf[pdsclient.LoginResult](),
		"account status":            shapeOf[account.Status](),
		"account add-rotation-key":  shapeOf[account.RotationChange](),
		"account update-handle":     shapeOf[account.HandleChange](),
		"account request-plc-token": shapeOf[account.TokenRequest](),
		"account service-auth":      shapeOf[account.ServiceToken](),
	}
}

func shapeOf[T any]() jsonShape { return jsonShape{Result: reflect.TypeFor[T]()} }
