package fcrt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

const goldenRequest = `{"MerchantUserId":"user-0001","DocType":"00000001"}`

func TestUnwrapGolden(t *testing.T) {
	tests := []struct {
		file string
		want Event // Request compared as JSON
	}{
		{"timer.json", Event{Kind: EventTimer, TriggerName: "reconcile-every-10m"}},
		{"cloudevent_eventbridge.json", Event{Kind: EventCloudEvent, Source: "merchant.onboarding",
			Type: "kyc:EkycInit:Requested", ID: "7adc3c9e-2ef7-4a41-93c4-4b1d0e4f8a21"}},
		{"cloudevent_string_data.json", Event{Kind: EventCloudEvent, Source: "acs.mns",
			Type: "mns:Queue:SendMessage", ID: "0f6b2f1e-55b1-4c55-9a0e-3d2c8f9b7e10"}},
		{"raw.json", Event{Kind: EventRaw}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			got, err := Unwrap(body)
			require.NoError(t, err)
			assert.JSONEq(t, goldenRequest, string(got.Request))
			got.Request = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnwrapEdges(t *testing.T) {
	tests := []struct {
		name, body string
		kind       EventKind
		request    string
	}{
		{"timer without payload", `{"triggerTime":"2026-11-22T04:00:00Z","triggerName":"t"}`, EventTimer, `{}`},
		{"timer with empty payload", `{"triggerTime":"2026-11-22T04:00:00Z","triggerName":"t","payload":""}`, EventTimer, `{}`},
		{"timer with blank payload", `{"triggerTime":"2026-11-22T04:00:00Z","triggerName":"t","payload":"  "}`, EventTimer, `{}`},
		{"timer with null payload", `{"triggerTime":"2026-11-22T04:00:00Z","triggerName":"t","payload":null}`, EventTimer, `{}`},
		{"timer with object payload", `{"triggerTime":"x","triggerName":"t","payload":{"a":1}}`, EventTimer, `{"a":1}`},
		{"half a timer is a request", `{"triggerTime":"2026-11-22T04:00:00Z","a":1}`, EventRaw, `{"triggerTime":"2026-11-22T04:00:00Z","a":1}`},
		{"half a CloudEvent is a request", `{"specversion":"1.0","type":"t","source":"s"}`, EventRaw, `{"specversion":"1.0","type":"t","source":"s"}`},
		{"empty object", `{}`, EventRaw, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unwrap([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.kind, got.Kind)
			assert.JSONEq(t, tt.request, string(got.Request))
		})
	}
}

func TestUnwrapMalformed(t *testing.T) {
	const ce = `"specversion":"1.0","type":"t","source":"s","id":"i"`
	tests := []struct {
		name, body, says string
	}{
		{"empty", ``, "must be one JSON object"},
		{"blank", "  \n", "must be one JSON object"},
		{"null", `null`, "must be one JSON object"},
		{"array", `[{"a":1}]`, "must be one JSON object"},
		{"number", `42`, "must be one JSON object"},
		{"string", `"{}"`, "must be one JSON object"},
		{"garbage", `not json`, "must be one JSON object"},
		{"truncated", `{"a":`, "must be one JSON object"},
		{"two objects", `{} {}`, "must be one JSON object"},
		{"timer payload not JSON", `{"triggerTime":"x","triggerName":"t","payload":"hello"}`, `"payload"`},
		{"timer payload an array", `{"triggerTime":"x","triggerName":"t","payload":"[1]"}`, `"payload"`},
		{"timer payload a number", `{"triggerTime":"x","triggerName":"t","payload":7}`, `"payload"`},
		{"timer name not a string", `{"triggerTime":"x","triggerName":7}`, `"triggerName"`},
		{"CloudEvent without data", `{` + ce + `}`, `"data"`},
		{"CloudEvent with null data", `{` + ce + `,"data":null}`, `"data"`},
		{"CloudEvent data a number", `{` + ce + `,"data":7}`, `"data"`},
		{"CloudEvent data not JSON", `{` + ce + `,"data":"hello"}`, `"data"`},
		{"CloudEvent id a number", `{"specversion":"1.0","type":"t","source":"s","id":7,"data":{}}`, "must be strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unwrap([]byte(tt.body))
			require.Error(t, err)
			e := apierr.As(err)
			assert.Equal(t, apierr.InvalidParameter, e.Code)
			assert.Contains(t, e.Message, tt.says)
		})
	}
}
