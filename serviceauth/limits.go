package serviceauth

import (
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The reference PDS's limits on a requested token's expiry.
const (
	// MaxLifetime is the furthest ahead exp may be.
	MaxLifetime = time.Hour
	// MaxMethodlessLifetime is the furthest ahead exp may be for a token
	// without lxm.
	MaxMethodlessLifetime = time.Minute
)

// protectedMethods are the methods the reference PDS gives no service-auth
// token for: account management that must be called on the PDS itself.
var protectedMethods = []string{
	"com.atproto.admin.sendEmail",
	"com.atproto.identity.requestPlcOperationSignature",
	"com.atproto.identity.signPlcOperation",
	"com.atproto.identity.updateHandle",
	"com.atproto.server.activateAccount",
	"com.atproto.server.confirmEmail",
	"com.atproto.server.createAppPassword",
	"com.atproto.server.deactivateAccount",
	"com.atproto.server.getAccountInviteCodes",
	"com.atproto.server.getSession",
	"com.atproto.server.listAppPasswords",
	"com.atproto.server.requestAccountDelete",
	"com.atproto.server.requestEmailConfirmation",
	"com.atproto.server.requestEmailUpdate",
	"com.atproto.server.revokeAppPassword",
	"com.atproto.server.updateEmail",
}

// IsProtected says whether lxm is a method no service-auth token is given
// for.
func IsProtected(lxm string) bool { return slices.Contains(protectedMethods, lxm) }

// IsPrivileged says whether a token for lxm needs a full (not app-password)
// session, as the reference's PRIVILEGED_METHODS: chat.bsky methods and
// com.atproto.server.createAccount.
func IsPrivileged(lxm string) bool {
	return lxm == "com.atproto.server.createAccount" || strings.HasPrefix(lxm, "chat.bsky.")
}

// Request is a getServiceAuth request.
type Request struct {
	Aud string
	Lxm string    // "" for any method
	Exp time.Time // zero: the default lifetime
}

// CheckRequest holds a token request to the reference PDS's rules: aud a
// DID or DID#service, lxm an NSID and not protected, exp (when given) not
// before now, at most MaxLifetime ahead, and at most MaxMethodlessLifetime
// ahead without lxm.
func CheckRequest(req Request, now time.Time) error {
	if _, _, err := ParseIssuer(req.Aud); err != nil {
		return fail(ErrBadRequest, "InvalidRequest", "aud must be a valid atproto DID or did#serviceId reference")
	}
	if req.Lxm != "" {
		if _, err := syntax.ParseNSID(req.Lxm); err != nil {
			return fail(ErrBadRequest, "InvalidRequest", "lxm %q is not an NSID", req.Lxm)
		}
	}
	if !req.Exp.IsZero() {
		diff := req.Exp.Sub(now)
		switch {
		case diff < 0:
			return fail(ErrBadExpiration, "BadExpiration", "expiration is in past")
		case diff > MaxLifetime:
			return fail(ErrBadExpiration, "BadExpiration", "cannot request a token with an expiration more than an hour in the future")
		case req.Lxm == "" && diff > MaxMethodlessLifetime:
			return fail(ErrBadExpiration, "BadExpiration", "cannot request a method-less token with an expiration more than a minute in the future")
		}
	}
	if IsProtected(req.Lxm) {
		return fail(ErrProtectedMethod, "InvalidRequest", "cannot request a service auth token for the following protected method: %s", req.Lxm)
	}
	return nil
}
