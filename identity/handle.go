package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/miekg/dns"
)

// Handle resolution methods, as reported in Identity.HandleMethod.
const (
	MethodDNS   = "dns"
	MethodHTTPS = "https"
	// MethodResolver: Resolver.HandleResolver answered
	// com.atproto.identity.resolveHandle.
	MethodResolver = "resolver"
)

// ParseHandle checks a handle's syntax and top-level domain and returns it
// in lower case.
func ParseHandle(s string) (syntax.Handle, error) {
	h, err := syntax.ParseHandle(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidHandle, s, strings.TrimPrefix(err.Error(), "syntax: "))
	}
	h = h.Normalize()
	if !h.AllowedTLD() {
		return "", fmt.Errorf("%w %q: top-level domain .%s is not allowed", ErrInvalidHandle, s, h.TLD())
	}
	return h, nil
}

// ResolveHandle finds the DID a handle names: first the DNS TXT record
// _atproto.<handle> ("did=<DID>"), then
// https://<handle>/.well-known/atproto-did. With r.HandleResolver set, that
// server is asked first (com.atproto.identity.resolveHandle), and with
// r.HandleResolverOnly it is the only one asked. It returns the DID and the
// method that gave it (MethodResolver, MethodDNS or MethodHTTPS). It does
// not check that the DID's document claims the handle; Lookup does.
func (r *Resolver) ResolveHandle(ctx context.Context, handle string) (syntax.DID, string, error) {
	h, err := ParseHandle(handle)
	if err != nil {
		return "", "", err
	}
	var resErr error
	if r.HandleResolver != "" {
		did, err := r.lookupResolver(ctx, h)
		if err == nil {
			return did, MethodResolver, nil
		}
		if r.HandleResolverOnly {
			return "", "", fmt.Errorf("%w: %s: %w", ErrHandleNotFound, h, err)
		}
		resErr = err
	}
	did, dnsErr := r.lookupTXT(ctx, h)
	if dnsErr == nil {
		return did, MethodDNS, nil
	}
	if errors.Is(dnsErr, ErrAmbiguousTXT) || errors.Is(dnsErr, ErrInvalidDID) {
		// DNS answered, with something wrong: do not paper over it.
		return "", "", dnsErr
	}
	did, webErr := r.lookupWellKnown(ctx, h)
	if webErr == nil {
		return did, MethodHTTPS, nil
	}
	if resErr != nil {
		return "", "", fmt.Errorf("%w: %s: %w; %w; %w", ErrHandleNotFound, h, resErr, dnsErr, webErr)
	}
	return "", "", fmt.Errorf("%w: %s: %w; %w", ErrHandleNotFound, h, dnsErr, webErr)
}

// lookupResolver asks r.HandleResolver's com.atproto.identity.resolveHandle.
func (r *Resolver) lookupResolver(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	u := strings.TrimRight(r.HandleResolver, "/") + "/xrpc/com.atproto.identity.resolveHandle?" + url.Values{"handle": {h.String()}}.Encode()
	b, err := r.getSmall(ctx, u, "application/json", min(r.maxDoc(), 4096))
	if err != nil {
		var se *httpStatusError
		if errors.As(err, &se) {
			err = fmt.Errorf("GET %s: HTTP %d%s", u, se.Status, xrpcMessage([]byte(se.Msg)))
		}
		return "", fmt.Errorf("%w: %w", ErrHandleResolver, err)
	}
	var resp struct {
		DID string `json:"did"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return "", fmt.Errorf("%w: %s: bad JSON: %v", ErrHandleResolver, u, err)
	}
	did, err := ParseDID(resp.DID)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrHandleResolver, u, err)
	}
	return did, nil
}

// lookupTXT asks DNS for _atproto.<h> TXT records.
func (r *Resolver) lookupTXT(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	name := "_atproto." + h.String()
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	var txts []string
	var err error
	if r.DNSAddr != "" {
		txts, err = r.queryTXT(ctx, name)
	} else {
		var res net.Resolver
		txts, err = res.LookupTXT(ctx, name)
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			txts, err = nil, nil
		} else if err != nil {
			err = fmt.Errorf("%w: TXT %s: %v", ErrDNS, name, err)
		}
	}
	if err != nil {
		return "", err
	}
	return didFromTXT(name, txts)
}

// queryTXT asks r.DNSAddr directly (UDP, then TCP when the answer is
// truncated). A name that does not exist gives no records and no error.
func (r *Resolver) queryTXT(ctx context.Context, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = true
	c := &dns.Client{Net: "udp", Timeout: r.timeout()}
	in, _, err := c.ExchangeContext(ctx, m, r.DNSAddr)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.DNSAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: TXT %s at %s: %v", ErrDNS, name, r.DNSAddr, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("%w: TXT %s at %s: %s", ErrDNS, name, r.DNSAddr, dns.RcodeToString[in.Rcode])
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			// A TXT record's character-strings make one value.
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// didFromTXT picks the DID out of TXT values: exactly one distinct "did="
// value must be present.
func didFromTXT(name string, txts []string) (syntax.DID, error) {
	var found []string
	for _, t := range txts {
		v, ok := strings.CutPrefix(t, "did=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		dup := false
		for _, f := range found {
			dup = dup || f == v
		}
		if !dup {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w for %s", ErrNoTXTRecord, name)
	case 1:
		did, err := ParseDID(found[0])
		if err != nil {
			return "", fmt.Errorf("TXT %s: %w", name, err)
		}
		return did, nil
	default:
		return "", fmt.Errorf("%w: %s: %s", ErrAmbiguousTXT, name, strings.Join(found, ", "))
	}
}

// WellKnownURL is where a handle's DID is published over HTTPS.
func WellKnownURL(h syntax.Handle) string {
	return "https://" + h.String() + "/.well-known/atproto-did"
}

func (r *Resolver) lookupWellKnown(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	u := WellKnownURL(h)
	// A DID is short; a large answer is not an atproto-did file.
	max := int64(2048)
	if r.maxDoc() < max {
		max = r.maxDoc()
	}
	b, err := r.getSmall(ctx, u, "text/plain", max)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrWellKnown, err)
	}
	did, err := ParseDID(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrWellKnown, u, err)
	}
	return did, nil
}
