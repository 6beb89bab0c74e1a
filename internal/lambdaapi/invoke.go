package lambdaapi

import (
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/invoke"
)

// invoke is Invoke (spec/lambda.md §1): the headers carry the options, the
// body is the payload, and a function's failure is a 200 with
// X-Amz-Function-Error.
func (a *API) invoke(w http.ResponseWriter, r *http.Request, body []byte) error {
	req := invoke.Request{
		Function:      r.PathValue("name"),
		Qualifier:     r.URL.Query().Get("Qualifier"),
		Type:          r.Header.Get("X-Amz-Invocation-Type"),
		ClientContext: r.Header.Get("X-Amz-Client-Context"),
		TraceHeader:   r.Header.Get("X-Amzn-Trace-Id"),
		TraceParent:   r.Header.Get("Traceparent"),
		Payload:       body,
	}
	if vs, ok := r.Header["X-Amz-Tenant-Id"]; ok {
		req.Tenant = &vs[0]
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		req.LogTail = true
	default:
		return errdefs.New(errdefs.ErrValidation, "1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt)
	}
	if req.Type == invoke.Event && len(body) > maxEventPayload {
		return errdefs.New(errdefs.ErrTooLarge, "%d byte payload is too large for the Event invocation type (limit %d bytes)", len(body), maxEventPayload)
	}
	resp, err := a.invoker.Invoke(r.Context(), req)
	if err != nil {
		return err
	}
	h := w.Header()
	if resp.ExecutedVersion != "" && resp.StatusCode == http.StatusOK {
		h.Set("X-Amz-Executed-Version", resp.ExecutedVersion)
	}
	if resp.FunctionError != "" {
		h.Set("X-Amz-Function-Error", resp.FunctionError)
	}
	if resp.LogResult != "" {
		h.Set("X-Amz-Log-Result", resp.LogResult)
	}
	if resp.StatusCode == http.StatusOK {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Payload) // a client gone mid-response has nothing more to hear
	return nil
}
