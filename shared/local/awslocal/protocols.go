package awslocal

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// protocol reads a service's requests and writes its answers.
type protocol interface {
	// parse reads the operation and its input; on error the request it
	// returns, if any, still names the operation for the call record.
	parse(r *http.Request, body []byte) (*request, *apiError)
	// unknownOperation is the service's error for an operation it does
	// not have (or the stand-in does not implement).
	unknownOperation(op string) *apiError
	writeResult(w http.ResponseWriter, op string, out any)
	writeError(w http.ResponseWriter, op string, e *apiError)
}

const jsonContentType = "application/x-amz-json-1.1"

// requestID is the request ID every answer carries.
const requestID = "00000000-0000-4000-8000-000000000000"

// jsonProtocol is awsJson1_1: POST / with X-Amz-Target: Prefix.Operation
// and a JSON body; errors carry their code in __type.
type jsonProtocol struct {
	target string
}

func (p *jsonProtocol) parse(r *http.Request, body []byte) (*request, *apiError) {
	prefix, op, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	in := &request{op: op}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return in, badRequest("SerializationException", "the request body is not JSON")
	}
	in.body = body
	if r.Method != http.MethodPost || !ok || prefix != p.target {
		return in, p.unknownOperation(r.Header.Get("X-Amz-Target"))
	}
	return in, nil
}

func (p *jsonProtocol) unknownOperation(op string) *apiError {
	return badRequest("UnknownOperationException", "awslocal does not implement the operation %q", op)
}

func (p *jsonProtocol) writeResult(w http.ResponseWriter, _ string, out any) {
	writeJSON(w, jsonContentType, http.StatusOK, out)
}

func (p *jsonProtocol) writeError(w http.ResponseWriter, _ string, e *apiError) {
	writeJSONError(w, jsonContentType, e)
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSONError(w http.ResponseWriter, contentType string, e *apiError) {
	w.Header().Set("X-Amzn-Errortype", e.Code)
	if e.QueryCode != "" {
		w.Header().Set("X-Amzn-Query-Error", e.QueryCode)
	}
	writeJSON(w, contentType, e.Status, map[string]string{"__type": e.Code, "message": e.Message})
}

// queryProtocol is awsQuery: a form-encoded POST with Action=Operation,
// answered in XML inside <OperationResponse><OperationResult>.
type queryProtocol struct {
	xmlns string
}

func (p *queryProtocol) parse(_ *http.Request, body []byte) (*request, *apiError) {
	form, err := url.ParseQuery(string(body))
	in := &request{op: form.Get("Action"), form: form}
	if err != nil {
		return in, badRequest("MalformedQueryString", "the request body is not a query string: %v", err)
	}
	flat := make(map[string]any, len(form))
	for k, v := range form {
		if len(v) == 1 {
			flat[k] = v[0]
		} else {
			flat[k] = v
		}
	}
	in.body, _ = json.Marshal(flat)
	if in.op == "" {
		return in, badRequest("MissingAction", "the request names no Action")
	}
	return in, nil
}

func (p *queryProtocol) unknownOperation(op string) *apiError {
	return badRequest("InvalidAction", "The action %s is not valid for this web service.", op)
}

// queryResponse wraps an operation's result as awsQuery does.
type queryResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func (p *queryProtocol) writeResult(w http.ResponseWriter, op string, out any) {
	writeXML(w, http.StatusOK, queryResponse{XMLName: xml.Name{Local: op + "Response"}, Xmlns: p.xmlns, Result: out, RequestID: requestID})
}

// queryError is awsQuery's error document.
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ReqID   string   `xml:"RequestId"`
}

func (p *queryProtocol) writeError(w http.ResponseWriter, _ string, e *apiError) {
	writeXML(w, e.Status, queryError{Xmlns: p.xmlns, Type: faultSide(e.Status), Code: e.Code, Message: e.Message, ReqID: requestID})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// faultSide is awsQuery's word for who is at fault.
func faultSide(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// restProtocol is restJson1: the operation is the method and path, the
// input its path labels, query string and JSON body.
type restProtocol struct {
	routes []route
}

// route maps a method and path pattern ("/schedules/{Name}") to an
// operation.
type route struct {
	method, pattern, op string
}

func (p *restProtocol) parse(r *http.Request, body []byte) (*request, *apiError) {
	rt, labels := p.match(r.Method, r.URL.EscapedPath())
	if rt == nil {
		return &request{op: r.Method + " " + r.URL.Path}, p.unknownOperation(r.Method + " " + r.URL.Path)
	}
	in := &request{op: rt.op}
	fields := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &fields); err != nil {
			in.body = body
			return in, badRequest("SerializationException", "the request body is not a JSON object")
		}
	}
	for k, v := range r.URL.Query() {
		fields[k] = v[0]
	}
	for k, v := range labels {
		fields[k] = v
	}
	in.body, _ = json.Marshal(fields)
	return in, nil
}

// match finds the route of a request and the values of its labels.
func (p *restProtocol) match(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range p.routes {
		rt := &p.routes[i]
		if rt.method != method {
			continue
		}
		want := strings.Split(strings.Trim(rt.pattern, "/"), "/")
		if len(want) != len(segs) {
			continue
		}
		labels := map[string]string{}
		ok := true
		for j, w := range want {
			if strings.HasPrefix(w, "{") {
				v, err := url.PathUnescape(segs[j])
				if err != nil || v == "" {
					ok = false
					break
				}
				labels[strings.Trim(w, "{}")] = v
			} else if w != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, labels
		}
	}
	return nil, nil
}

func (p *restProtocol) unknownOperation(op string) *apiError {
	return &apiError{Code: "UnknownOperationException", Status: http.StatusNotFound, Message: fmt.Sprintf("awslocal does not implement %q", op)}
}

func (p *restProtocol) writeResult(w http.ResponseWriter, _ string, out any) {
	writeJSON(w, "application/json", http.StatusOK, out)
}

func (p *restProtocol) writeError(w http.ResponseWriter, _ string, e *apiError) {
	writeJSONError(w, "application/json", e)
}
