package awslocal

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// cborProtocol is Smithy RPC v2 CBOR, which aws-sdk-go-v2's CloudWatch
// client sends: POST /service/{Service}/operation/{Operation} with a CBOR
// body, timestamps as tag 1 epoch seconds, errors as a CBOR map with
// __type. CloudWatch is query compatible, so errors also carry their
// awsQuery code in X-Amzn-Query-Error.
//
// It uses smithy-go's own CBOR codec, the one the client runs, so both
// ends read the bytes alike.
type cborProtocol struct {
	service string
}

func (p *cborProtocol) parse(r *http.Request, body []byte) (*request, *apiError) {
	prefix := "/service/" + p.service + "/operation/"
	op, ok := strings.CutPrefix(r.URL.Path, prefix)
	in := &request{op: op, body: json.RawMessage("{}")}
	if !ok || r.Method != http.MethodPost || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		in.op = r.Method + " " + r.URL.Path
		return in, p.unknownOperation(in.op)
	}
	if len(body) == 0 {
		return in, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return in, badRequest("SerializationException", "the request body is not CBOR: %v", err)
	}
	b, err := json.Marshal(fromCBOR(v))
	if err != nil {
		return in, badRequest("SerializationException", "the request body cannot be read: %v", err)
	}
	in.body = b
	return in, nil
}

func (p *cborProtocol) unknownOperation(op string) *apiError {
	return &apiError{Code: "UnknownOperationException", Status: http.StatusNotFound, Message: fmt.Sprintf("awslocal does not implement %q", op)}
}

func (p *cborProtocol) writeResult(w http.ResponseWriter, _ string, out any) {
	writeCBOR(w, http.StatusOK, toCBOR(out))
}

func (p *cborProtocol) writeError(w http.ResponseWriter, _ string, e *apiError) {
	q := e.QueryCode
	if q == "" {
		q = e.Code + ";" + faultSide(e.Status)
	}
	w.Header().Set("X-Amzn-Query-Error", q)
	writeCBOR(w, e.Status, cbor.Map{"__type": cbor.String(e.Code), "message": cbor.String(e.Message)})
}

func writeCBOR(w http.ResponseWriter, status int, v cbor.Value) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(v))
}

// fromCBOR turns a decoded CBOR value into what encoding/json reads:
// timestamps (tag 1) become epoch seconds, as in the JSON protocols.
func fromCBOR(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(x)
	case cbor.Uint:
		return uint64(x)
	case cbor.NegInt:
		return -1 - int64(x)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case cbor.Slice:
		return []byte(x)
	case *cbor.Tag:
		return fromCBOR(x.Value)
	default:
		return nil
	}
}

// toCBOR encodes the values the stand-in's CBOR operations answer with.
func toCBOR(v any) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := make(cbor.Map, len(x))
		for k, e := range x {
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e)
		}
		return l
	case []map[string]any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e)
		}
		return l
	case []float64:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = cbor.Float64(e)
		}
		return l
	case []time.Time:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e)
		}
		return l
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(x.UnixMilli()) / 1e3)}
	case string:
		return cbor.String(x)
	case float64:
		return cbor.Float64(x)
	case int:
		if x < 0 {
			return cbor.NegInt(uint64(-(x + 1)))
		}
		return cbor.Uint(uint64(x))
	case bool:
		return cbor.Bool(x)
	case nil:
		return &cbor.Nil{}
	default:
		panic(fmt.Sprintf("awslocal: no CBOR form for %T", v))
	}
}

// epochSeconds reads a timestamp the JSON form of an input holds.
func epochSeconds(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
