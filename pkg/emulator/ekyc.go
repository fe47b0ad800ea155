package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file keeps eKYC transactions: created by Initialize, finished by
// Complete (from a test, the control API or the page a person opens at the
// TransactionUrl), which also sends the CallbackUrl notification the real
// service sends.

// ekycPagePath is where the TransactionUrl of a transaction points.
const ekycPagePath = "/_emulator/ekyc/"

// Transaction is an eKYC transaction as the emulator keeps it. Transactions
// live in memory until Reset; the real service keeps results for 30 days.
type Transaction struct {
	ID             string    `json:"transactionId"`
	MerchantBizID  string    `json:"merchantBizId"`
	MerchantUserID string    `json:"merchantUserId"`
	DocType        string    `json:"docType"`
	CallbackURL    string    `json:"callbackUrl,omitempty"`
	CallbackToken  string    `json:"callbackToken,omitempty"`
	Passed         string    `json:"passed"` // P (pending), Y or N
	SubCode        string    `json:"subCode"`
	CreatedAt      time.Time `json:"createdAt"`
}

// ErrUnknownTransaction is returned by Complete for an id Initialize never gave.
var ErrUnknownTransaction = errors.New("emulator: unknown transaction")

// errInvalidPassed is returned by Complete for a passed other than Y, N or P.
var errInvalidPassed = errors.New("emulator: passed must be Y, N or P")

// errNegativeCallbacks is returned by CompleteWithCallbacks for n < 0.
var errNegativeCallbacks = errors.New("emulator: the number of callbacks must not be negative")

// newTransaction stores a pending transaction for an accepted Initialize.
func (e *Emulator) newTransaction(p params) Transaction {
	tx := Transaction{
		ID:             "hk" + randomHex(15),
		MerchantBizID:  p["MerchantBizId"],
		MerchantUserID: p["MerchantUserId"],
		DocType:        p["DocType"],
		CallbackURL:    p["CallbackUrl"],
		CallbackToken:  p["CallbackToken"],
		Passed:         "P",
		CreatedAt:      e.now(),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.transactions[tx.ID] = &tx
	return tx
}

// Transaction returns a copy of the transaction with id.
func (e *Emulator) Transaction(id string) (Transaction, bool) {
	return copyOf(&e.mu, &e.transactions, id)
}

// Complete sets a transaction's result: passed is Y, N or P; an empty
// subCode means 200 for Y and 205 for N. When callback is set and the
// transaction has a CallbackUrl, Complete then notifies it as the real
// service does (see notify) and returns an error if that fails. The state is
// set even when the notification fails, as it would be upstream.
func (e *Emulator) Complete(ctx context.Context, transactionID, passed, subCode string, callback bool) error {
	return e.CompleteWithCallbacks(ctx, transactionID, passed, subCode, callbackCount(callback))
}

// callbackCount is how many notifications Complete's callback flag means.
func callbackCount(callback bool) int {
	if callback {
		return 1
	}
	return 0
}

// CompleteWithCallbacks is Complete that notifies the CallbackUrl n times in
// a row (0: never, as when the notification is lost), because the real
// service may repeat a notification and a receiver must record the result
// once however many arrive. Every notification is sent even when one fails;
// the error names the failures.
func (e *Emulator) CompleteWithCallbacks(ctx context.Context, transactionID, passed, subCode string, n int) error {
	if passed != "Y" && passed != "N" && passed != "P" {
		return fmt.Errorf("%w, not %q", errInvalidPassed, passed)
	}
	if n < 0 {
		return errNegativeCallbacks
	}
	if subCode == "" {
		subCode = map[string]string{"Y": "200", "N": "205"}[passed]
	}
	e.mu.Lock()
	tx, ok := e.transactions[transactionID]
	var snapshot Transaction
	if ok {
		tx.Passed, tx.SubCode = passed, subCode
		snapshot = *tx
	}
	e.mu.Unlock()
	if !ok {
		return ErrUnknownTransaction
	}
	if snapshot.CallbackURL == "" {
		return nil
	}
	var errs []error
	for i := range n {
		if err := e.notify(ctx, snapshot); err != nil {
			errs = append(errs, fmt.Errorf("notification %d of %d: %w", i+1, n, err))
		}
	}
	return errors.Join(errs...)
}

// notify calls the transaction's CallbackUrl: a GET with callbackToken (when
// one was given), transactionId, passed and subCode appended to the URL's
// query, in the order of the documented example
// "https://www.aliyun.com?callbackToken=1000004826&transactionId=shaxxxx&passed=Y&subCode=200".
// Any 2xx answer is success.
func (e *Emulator) notify(ctx context.Context, tx Transaction) error {
	var q []string
	if tx.CallbackToken != "" {
		q = append(q, "callbackToken="+url.QueryEscape(tx.CallbackToken))
	}
	q = append(q, "transactionId="+url.QueryEscape(tx.ID),
		"passed="+url.QueryEscape(tx.Passed), "subCode="+url.QueryEscape(tx.SubCode))
	target := appendQuery(tx.CallbackURL, strings.Join(q, "&"))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("emulator: callback: %w", err)
	}
	resp, err := e.callbackClient.Do(req)
	if err != nil {
		e.log.Warn("ekyc callback failed", "transactionId", tx.ID, "error", err)
		return fmt.Errorf("emulator: callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	e.log.Info("ekyc callback", "transactionId", tx.ID, "passed", tx.Passed, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("emulator: callback answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// appendQuery appends query to raw with "&" if raw already has a query,
// otherwise with "?". A fragment stays at the end.
func appendQuery(raw, query string) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	switch {
	case !strings.Contains(base, "?"):
		base += "?" + query
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		base += query
	default:
		base += "&" + query
	}
	if hasFrag {
		base += "#" + frag
	}
	return base
}

// ekycPage is what a person sees at a TransactionUrl: the transaction's
// state and two buttons that finish it, callback included.
var ekycPage = template.Must(template.New("ekyc").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>eKYC emulator {{.Tx.ID}}</title>
{{if .Waiting}}<meta http-equiv="refresh" content="3">{{end}}</head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>eKYC (emulated)</h1>
<p>Transaction <code>{{.Tx.ID}}</code>, MerchantBizId <code>{{.Tx.MerchantBizID}}</code>.</p>
<p>The service's state: passed <b>{{.Tx.Passed}}</b>{{with .Tx.SubCode}}, subCode <b>{{.}}</b>{{end}}.</p>
{{if .Results}}<p id="recorded">{{with .Recorded}}Recorded by the callback and posted to the webhook:
<b>{{.Status}}</b> (passed {{.Passed}}{{with .SubCode}}, subCode {{.}}{{end}}) at {{.RecordedAt}}.
{{else}}{{if .Waiting}}Not recorded yet: the callback records it, or the timer when the callback is lost (this page refreshes).
{{else}}Nothing recorded yet.{{end}}{{end}}{{with .ResultsError}} ({{.}}){{end}}</p>{{end}}
{{with .Error}}<p style="color:#b00">{{.}}</p>{{end}}
{{range .Choices}}<form method="post" action="/_emulator/transactions/{{$.Tx.ID}}/complete" style="display:inline">
<input type="hidden" name="passed" value="{{.Passed}}"><input type="hidden" name="callback" value="{{.Callback}}">
<button type="submit">{{.Label}}</button></form>
{{end}}
</body></html>
`))

// recordedResult is the part of a result event the page shows.
type recordedResult struct {
	Status     string `json:"status"`
	Passed     string `json:"passed"`
	SubCode    string `json:"subCode"`
	RecordedAt string `json:"recordedAt"`
}

// serveEKYCPage renders the page of transaction {id}; ?error= carries the
// message of a failed completion back from the form post.
func (e *Emulator) serveEKYCPage(w http.ResponseWriter, r *http.Request) {
	tx, ok := e.Transaction(r.PathValue("id"))
	if !ok {
		http.Error(w, "unknown transaction", http.StatusNotFound)
		return
	}
	data := map[string]any{
		"Tx":      tx,
		"Error":   r.URL.Query().Get("error"),
		"Results": e.resultsURL != "",
		"Choices": []struct{ Passed, Callback, Label string }{
			{"Y", "true", "Pass"}, {"N", "true", "Fail"},
			{"Y", "false", "Pass, callback lost"}, {"N", "false", "Fail, callback lost"},
		},
	}
	if e.resultsURL != "" {
		rec, err := e.lookupResult(r.Context(), tx.ID)
		if err != nil {
			data["ResultsError"] = err.Error()
		}
		data["Recorded"] = rec
		data["Waiting"] = rec == nil && tx.Passed != "P"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = ekycPage.Execute(w, data)
}

// lookupResult asks ResultsURL what was recorded for transaction id: nil
// when nothing was.
func (e *Emulator) lookupResult(ctx context.Context, id string) (*recordedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.resultsURL+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, errors.New("the results service did not answer")
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	var rec recordedResult
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&rec) != nil {
		return nil, fmt.Errorf("the results service answered %d", resp.StatusCode)
	}
	return &rec, nil
}
