package pds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// XRPCError is an error answered as {"error": Name, "message": Message}
// with HTTP status Status.
type XRPCError struct {
	Status  int
	Name    string
	Message string
}

func (e *XRPCError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Name, e.Status, e.Message) }

func xerr(status int, name, format string, args ...any) *XRPCError {
	return &XRPCError{Status: status, Name: name, Message: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *XRPCError {
	return xerr(http.StatusBadRequest, "InvalidRequest", format, args...)
}

// handlerFunc is one XRPC method: it returns the value to answer with (nil
// when it wrote the response itself) or an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

type method struct {
	post bool
	fn   handlerFunc
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "InternalServerError", "message": "encoding response: " + err.Error()})
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	var xe *XRPCError
	if !errors.As(err, &xe) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			xe = xerr(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "request body larger than %d bytes", mbe.Limit)
		} else {
			xe = xerr(http.StatusInternalServerError, "InternalServerError", "%v", err)
		}
	}
	writeJSON(w, xe.Status, map[string]string{"error": xe.Name, "message": xe.Message})
}

// limitBody refuses a body whose declared length is over limit at once, and
// bounds the reading of any other body.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return xerr(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "request body of %d bytes is larger than the limit of %d bytes", r.ContentLength, limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return nil
}

// decodeJSONBody reads a JSON request body (at most limit bytes) into v.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := limitBody(w, r, limit); err != nil {
		return err
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return invalidRequest("request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return invalidRequest("request body: %v", err)
	}
	// One JSON value and nothing after it but white space, as the
	// reference's body parser requires.
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return invalidRequest("request body: data after the JSON value, which ends at byte %d", end)
	}
	return nil
}

// queryInt reads an integer parameter in [min, max], def when absent.
func queryInt(r *http.Request, name string, def, min, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, invalidRequest("%s must be an integer from %d to %d, got %q", name, min, max, s)
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	switch s := r.URL.Query().Get(name); s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidRequest("%s must be true or false, got %q", name, s)
	}
}

func requireParam(r *http.Request, name string) (string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return "", invalidRequest("parameter %s is required", name)
	}
	return s, nil
}
