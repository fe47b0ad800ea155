package fcrt

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// EventKind tells how an /invoke event arrived.
type EventKind int

const (
	// EventRaw is the operation's request itself (InvokeFunction).
	EventRaw EventKind = iota
	// EventTimer is a timer trigger's event; its payload held the request.
	EventTimer
	// EventCloudEvent is an EventBridge CloudEvent; its data held the request.
	EventCloudEvent
)

// Event is one /invoke event, with the request taken out of its envelope.
type Event struct {
	Kind EventKind
	// Request is the operation's request JSON, always one JSON object ("{}"
	// when a timer has no payload).
	Request json.RawMessage
	// TriggerName names the timer trigger (EventTimer only).
	TriggerName string
	// Source, Type and ID are the CloudEvent's attributes (EventCloudEvent
	// only).
	Source, Type, ID string
}

// EventFunc answers an event. Its result is sent back as JSON; an error is
// answered as an apierr body, and FC counts the invocation as failed.
type EventFunc func(ctx context.Context, ev Event) (any, error)

// Unwrap decodes an /invoke body. It is one of:
//   - a timer event {"triggerTime", "triggerName", "payload"}, recognised by
//     triggerTime and triggerName: payload is a string that holds the request
//     JSON (absent or empty means "{}");
//   - a CloudEvent, recognised by specversion, type, source and id: data
//     holds the request, as a JSON object or a string of JSON text;
//   - any other JSON object: the request itself.
//
// Anything else is an InvalidParameter error that says what was expected.
func Unwrap(body []byte) (Event, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return Event{}, apierr.New(apierr.InvalidParameter,
			"The event must be one JSON object: the request itself, a timer event or a CloudEvent.")
	}
	switch {
	case has(fields, "triggerTime", "triggerName"):
		return unwrapTimer(fields)
	case has(fields, "specversion", "type", "source", "id"):
		return unwrapCloudEvent(body, fields)
	}
	return Event{Kind: EventRaw, Request: body}, nil
}

func unwrapTimer(fields map[string]json.RawMessage) (Event, error) {
	var name string
	if json.Unmarshal(fields["triggerName"], &name) != nil {
		return Event{}, apierr.Invalid("triggerName", "the timer event's triggerName must be a string")
	}
	req, ok := embedded(fields["payload"])
	if !ok {
		if len(bytes.TrimSpace(req)) > 0 {
			return Event{}, apierr.Invalid("payload", "the timer payload must be a string that holds the request as one JSON object")
		}
		req = json.RawMessage("{}")
	}
	return Event{Kind: EventTimer, Request: req, TriggerName: name}, nil
}

func unwrapCloudEvent(body []byte, fields map[string]json.RawMessage) (Event, error) {
	var attrs struct{ Source, Type, ID string }
	if json.Unmarshal(body, &attrs) != nil {
		return Event{}, apierr.New(apierr.InvalidParameter, "The CloudEvent's source, type and id must be strings.")
	}
	req, ok := embedded(fields["data"])
	if !ok {
		return Event{}, apierr.Invalid("data", "the CloudEvent's data must be the request as one JSON object, or a string that holds one")
	}
	return Event{Kind: EventCloudEvent, Request: req, Source: attrs.Source, Type: attrs.Type, ID: attrs.ID}, nil
}

func has(fields map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := fields[k]; !ok {
			return false
		}
	}
	return true
}

// embedded returns the request an envelope field carries, either as a JSON
// object or as a string of JSON text. ok is false when that is not one JSON
// object; req is then what the field held, empty for absent, null or "".
func embedded(field json.RawMessage) (req json.RawMessage, ok bool) {
	var s string
	if json.Unmarshal(field, &s) == nil {
		field = json.RawMessage(s)
	}
	t := bytes.TrimLeft(field, " \t\r\n")
	return field, len(t) > 0 && t[0] == '{' && json.Valid(t)
}
