package pds

import "net/http"

// routes is every XRPC method the server answers, by NSID, grouped by
// area; the handlers live in the files named with each group. get and
// post say which HTTP method each takes.
func (s *Server) routes() map[string]method {
	get := func(fn handlerFunc) method { return method{fn: fn} }
	post := func(fn handlerFunc) method { return method{post: true, fn: fn} }
	const (
		relay   = "it is a relay's method; arbor pds is a PDS (point a relay at it with --crawler)"
		labeler = "it is a labeler's method, and this server issues no labels"
		temp    = "the reference PDS does not serve it either (an entryway or AppView method)"
	)
	return map[string]method{
		// Accounts and sessions (accounts.go).
		"com.atproto.server.describeServer":    get(s.describeServer),
		"com.atproto.server.createAccount":     post(s.createAccount),
		"com.atproto.server.createSession":     post(s.createSession),
		"com.atproto.server.getSession":        get(s.getSession),
		"com.atproto.server.refreshSession":    post(s.refreshSession),
		"com.atproto.server.deleteSession":     post(s.deleteSession),
		"com.atproto.server.deactivateAccount": post(s.deactivateAccount),
		"com.atproto.server.activateAccount":   post(s.activateAccount),

		// App passwords and preferences (app_passwords.go, preferences.go).
		"com.atproto.server.createAppPassword": post(s.createAppPassword),
		"com.atproto.server.listAppPasswords":  get(s.listAppPasswords),
		"com.atproto.server.revokeAppPassword": post(s.revokeAppPassword),
		"app.bsky.actor.getPreferences":        get(s.getPreferences),
		"app.bsky.actor.putPreferences":        post(s.putPreferences),

		// Email flows (email.go).
		"com.atproto.server.requestEmailConfirmation": post(s.requestEmailConfirmation),
		"com.atproto.server.confirmEmail":             post(s.confirmEmail),
		"com.atproto.server.requestEmailUpdate":       post(s.requestEmailUpdate),
		"com.atproto.server.updateEmail":              post(s.updateEmail),
		"com.atproto.server.requestPasswordReset":     post(s.requestPasswordReset),
		"com.atproto.server.resetPassword":            post(s.resetPassword),

		// Deletion (delete_account.go).
		"com.atproto.server.requestAccountDelete": post(s.requestAccountDelete),
		"com.atproto.server.deleteAccount":        post(s.deleteAccount),
		"com.atproto.admin.deleteAccount":         post(s.adminDeleteAccount),

		// Invite codes (invites.go).
		"com.atproto.server.createInviteCode":      post(s.createInviteCode),
		"com.atproto.server.createInviteCodes":     post(s.createInviteCodes),
		"com.atproto.server.getAccountInviteCodes": get(s.getAccountInviteCodes),
		"com.atproto.admin.getInviteCodes":         get(s.adminGetInviteCodes),
		"com.atproto.admin.disableInviteCodes":     post(s.adminDisableInviteCodes),
		"com.atproto.admin.disableAccountInvites":  post(s.adminSetAccountInvites(true)),
		"com.atproto.admin.enableAccountInvites":   post(s.adminSetAccountInvites(false)),

		// Records and blobs (repo_endpoints.go, blobs.go, import.go).
		"com.atproto.repo.createRecord": post(s.createRecord),
		"com.atproto.repo.putRecord":    post(s.putRecord),
		"com.atproto.repo.deleteRecord": post(s.deleteRecord),
		"com.atproto.repo.applyWrites":  post(s.applyWrites),
		"com.atproto.repo.getRecord":    get(s.getRecord),
		"com.atproto.repo.listRecords":  get(s.listRecords),
		"com.atproto.repo.describeRepo": get(s.describeRepo),
		"com.atproto.repo.uploadBlob":   post(s.uploadBlob),
		"com.atproto.repo.importRepo":   post(s.importRepo),

		// Sync and the firehose (sync.go, firehose.go, other_methods.go).
		"com.atproto.sync.getRepo":               get(s.syncGetRepo),
		"com.atproto.sync.getLatestCommit":       get(s.syncGetLatestCommit),
		"com.atproto.sync.getRecord":             get(s.syncGetRecord),
		"com.atproto.sync.getBlocks":             get(s.syncGetBlocks),
		"com.atproto.sync.listRepos":             get(s.syncListRepos),
		"com.atproto.sync.getRepoStatus":         get(s.syncGetRepoStatus),
		"com.atproto.sync.getBlob":               get(s.syncGetBlob),
		"com.atproto.sync.listBlobs":             get(s.syncListBlobs),
		"com.atproto.sync.subscribeRepos":        get(s.subscribeRepos),
		"com.atproto.sync.getHead":               get(s.syncGetHead),
		"com.atproto.sync.getCheckout":           get(s.syncGetRepo),
		"com.atproto.sync.listReposByCollection": get(s.listReposByCollection),

		// Handles and identity (identity.go, identity_resolve.go).
		"com.atproto.identity.resolveHandle":   get(s.resolveHandle),
		"com.atproto.identity.updateHandle":    post(s.updateHandle),
		"com.atproto.identity.resolveDid":      get(s.resolveDid),
		"com.atproto.identity.resolveIdentity": get(s.resolveIdentity),
		"com.atproto.identity.refreshIdentity": post(s.refreshIdentity),

		// Migration in and out (migrate_*.go).
		"com.atproto.server.getServiceAuth":                 get(s.getServiceAuth),
		"com.atproto.server.checkAccountStatus":             get(s.checkAccountStatus),
		"com.atproto.repo.listMissingBlobs":                 get(s.listMissingBlobs),
		"com.atproto.identity.getRecommendedDidCredentials": get(s.getRecommendedDidCredentials),
		"com.atproto.identity.requestPlcOperationSignature": post(s.requestPlcOperationSignature),
		"com.atproto.identity.signPlcOperation":             post(s.signPlcOperation),
		"com.atproto.identity.submitPlcOperation":           post(s.submitPlcOperation),

		// Administration, with the admin password (accounts.go, admin.go).
		"com.atproto.admin.getAccountInfo":          get(s.adminGetAccountInfo),
		"com.atproto.admin.getAccountInfos":         get(s.adminGetAccountInfos),
		"com.atproto.admin.searchAccounts":          get(s.adminSearchAccounts),
		"com.atproto.admin.updateAccountPassword":   post(s.adminUpdateAccountPassword),
		"com.atproto.admin.updateAccountEmail":      post(s.adminUpdateAccountEmail),
		"com.atproto.admin.updateAccountHandle":     post(s.adminUpdateAccountHandle),
		"com.atproto.admin.sendEmail":               post(s.adminSendEmail),
		"com.atproto.admin.getSubjectStatus":        get(s.adminGetSubjectStatus),
		"com.atproto.admin.updateSubjectStatus":     post(s.adminUpdateSubjectStatus),
		"com.atproto.admin.updateAccountSigningKey": post(s.adminUpdateAccountSigningKey),
		"com.atproto.server.reserveSigningKey":      post(s.reserveSigningKey),
		"com.atproto.temp.checkSignupQueue":         get(s.checkSignupQueue),

		// Methods a PDS does not own, with a local answer (other_methods.go).
		"com.atproto.temp.checkHandleAvailability": get(s.checkHandleAvailability),
		"com.atproto.label.queryLabels":            get(s.queryLabels),
		"com.atproto.moderation.createReport":      post(s.createReport),
		"com.atproto.lexicon.resolveLexicon": get(func(w http.ResponseWriter, r *http.Request) (any, error) {
			return nil, xerr(http.StatusBadRequest, "LexiconNotFound", "arbor pds publishes no lexicon schemas; resolve an NSID through its authority's DNS")
		}),

		// ... and those answered 400 MethodNotSupported, saying why.
		"com.atproto.sync.getHostStatus":            get(notServed("com.atproto.sync.getHostStatus", relay)),
		"com.atproto.sync.listHosts":                get(notServed("com.atproto.sync.listHosts", relay)),
		"com.atproto.sync.requestCrawl":             post(notServed("com.atproto.sync.requestCrawl", relay)),
		"com.atproto.sync.notifyOfUpdate":           post(notServed("com.atproto.sync.notifyOfUpdate", relay)),
		"com.atproto.label.subscribeLabels":         get(notServed("com.atproto.label.subscribeLabels", labeler)),
		"com.atproto.temp.fetchLabels":              get(notServed("com.atproto.temp.fetchLabels", labeler)),
		"com.atproto.temp.addReservedHandle":        post(notServed("com.atproto.temp.addReservedHandle", temp)),
		"com.atproto.temp.requestPhoneVerification": post(notServed("com.atproto.temp.requestPhoneVerification", temp)),
		"com.atproto.temp.revokeAccountCredentials": post(notServed("com.atproto.temp.revokeAccountCredentials", temp)),
		"com.atproto.temp.dereferenceScope":         get(notServed("com.atproto.temp.dereferenceScope", temp)),
	}
}
