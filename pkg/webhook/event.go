package webhook

import "time"

// EventType is the type of every event the callback function posts.
const EventType = "ekyc.result"

// Event is the JSON body of a result event. It carries no personal data:
// the transaction is named by its ids, the outcome by its codes. Fetch the
// details, when needed, with CheckResult.
//
// The same result is always posted with the same ID and the same body, so a
// receiver dedupes on ID: a redelivery after a lost acknowledgement is the
// normal case, not an error.
type Event struct {
	ID            string `json:"id"`
	Type          string `json:"type"`          // EventType
	TransactionID string `json:"transactionId"` // the eKYC TransactionId
	MerchantBizID string `json:"merchantBizId"`
	// UserHash names the user the result belongs to, so that a merchant
	// never gives one user's result to another who used the same order id:
	// the lowercase hex SHA-256 of the MerchantUserId ekyc-init sent
	// upstream (the caller's MerchantUserId, or under AUTH_MODE=jwt the
	// subject id it derives from the token: hex HMAC-SHA256 under
	// AUTH_SUBJECT_SECRET of iss, a zero byte and sub, see auth.SubjectID);
	// for a Zhima result, of the JWT subject id, and absent without one.
	// Compute the same hash of your user id to match it. It is a hash, never the id itself; as the
	// upstream recommends, send a MerchantUserId that is itself masked (not
	// a bare phone number or e-mail address).
	UserHash string `json:"userHash,omitempty"`
	// Status is "passed", "failed", or "expired" (no final result before the
	// reconciler's maximum age; Passed is then empty).
	Status string `json:"status"`
	// Passed and SubCode are CheckResult's, as the service gave them.
	Passed     string    `json:"passed"`
	SubCode    string    `json:"subCode"`
	RecordedAt time.Time `json:"recordedAt"`
}
