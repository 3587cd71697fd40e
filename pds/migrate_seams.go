package pds

import "net/http"

// appPasswordSession says whether the request's session was made with an
// app password. Until app passwords exist every session is a full one.
func (s *Server) appPasswordSession(r *http.Request) bool { return false }
