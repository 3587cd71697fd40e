// Package lexicon checks records against Lexicon schemas: the catalog of
// schemas (the official ones built in, plus folders of schema files), and
// record validation that says where in a record each problem is and which
// rule it breaks.
//
// # Terms
//
//   - Schema document: one Lexicon JSON file, {"lexicon": 1, "id": NSID,
//     "defs": {...}}. A definition's full name is NSID#name; a record
//     type's schema is its document's main definition (NSID alone in
//     $type means NSID#main).
//   - Catalog: one document per NSID. Load starts from the embedded
//     official schemas (schemas/, a byte-for-byte copy of
//     ../shared/lexicons: com.atproto, app.bsky, chat.bsky, tools.ozone,
//     with its README saying from which upstream commit, and its
//     licenses) and lays --lexicon-dir folders over it in order: a
//     document whose NSID is already there replaces it.
//   - Result: a record's verdict, Valid, Invalid (with Issues) or NoSchema
//     (the catalog has no schema for its $type). An Issue is a JSON path
//     into the record ($.reply.root.uri, $.langs[0]), the Rule broken
//     (RuleRequired, RuleFormat, ...) and a message.
//   - Repo check (RepoCheck): validation of every record of a repository
//     as the archive streams its blocks, each block checked once and
//     forgotten; the verdicts are attributed to record paths when the
//     archive's tree is walked.
//
// # What comes from indigo, and what is ours
//
// Schema documents are parsed and checked by indigo's atproto/lexicon
// (SchemaFile, FinishParse, CheckSchema): lint and Load use it as is.
// Data is not validated by indigo's ValidateRecord, for two measured
// reasons: it stops at the first problem and says neither where nor
// which rule, and it needs the record decoded into generic Go values
// (atdata, through go-ipld-cbor), which with the validation costs about
// 23 µs a record (BenchmarkIndigoValidate), some 20 s of CPU for a
// million-record repository, far over the budget (verify --lexicon at
// most twice verify, which takes about 1 s). So each definition is
// compiled into a node (compile.go) and the record's DAG-CBOR bytes are
// walked directly (validate.go), with no decoding into values. The
// string formats are indigo's atproto/syntax parsers, behind fast paths
// that accept only what those parsers accept (format.go; the fuzz test
// FuzzFormatsAgreeWithIndigo holds them to it); grapheme counts are
// indigo's counter (rivo/uniseg). TestAgreesWithIndigo compares our
// verdicts with indigo's ValidateRecord on the interop vectors and on
// the planted records of the tests.
//
// # Rules, where indigo and the reference differ
//
//   - An open union's member whose $type is not among its refs is
//     accepted without validation, as the reference implementation
//     (@atproto/lexicon) does; indigo validates it when the catalog
//     knows the type.
//   - Legacy blob references ({cid, mimeType}, from 2023 records) are
//     accepted, as the reference does; indigo refuses them unless told
//     otherwise. Their MIME type is checked against accept; they have no
//     size.
//   - A blob's accept patterns and maxSize are checked on the reference
//     in the record (what the interop vectors ask); whether the blob
//     itself has that size and type is checked where blobs are at hand
//     (the PDS, verify --blobs).
//   - A {"$bytes"} whose base64 has non-zero padding bits is read
//     leniently for validation (an interop vector's valid record holds
//     one); arbor's DAG-CBOR codec refuses it elsewhere.
//   - knownValues are open: any string passes.
//   - Fields a schema does not name are allowed, as the spec says.
//
// Nothing in this package prints, exits or keeps package-level mutable
// state; the embedded schemas are read-only.
package lexicon
