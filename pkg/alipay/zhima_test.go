package alipay

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// A success whose node lacks what the method documents is refused as
// unreadable, never handed on.
func TestZhimaAnswerShapes(t *testing.T) {
	key := privateKey(t, "java-sdk/prodcert_private_pkcs8.b64")
	tests := []struct {
		name, method, node, want string
	}{
		{"initialize without biz_no", MethodZhimaInitialize, `{"code":"10000","msg":"Success"}`, "initialize succeeded without a biz_no"},
		{"initialize with a numeric biz_no", MethodZhimaInitialize, `{"code":"10000","msg":"Success","biz_no":7}`, "biz_no"},
		{"query without passed", MethodZhimaQuery, `{"code":"10000","msg":"Success"}`, `passed="", not "true" or "false"`},
		{"query passed T", MethodZhimaQuery, `{"code":"10000","msg":"Success","passed":"T"}`, `passed="T"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sign, err := Sign(key, SignTypeRSA2, []byte(tt.node))
			require.NoError(t, err)
			srv, _ := captureServer(t, `{"`+ResponseNode(tt.method)+`":`+tt.node+`,"sign":"`+sign+`"}`)
			c := prodCertClient(t, srv.URL, nil)
			if tt.method == MethodZhimaQuery {
				_, err = c.ZhimaQuery(context.Background(), "ZM1")
			} else {
				_, err = c.ZhimaInitialize(context.Background(), ZhimaInitialize{TransactionID: "t"})
			}
			require.ErrorIs(t, err, ErrMalformedAnswer)
			assert.Equal(t, apierr.BadUpstreamAnswer, apierr.As(err).Code)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestGatewayErrorStatus(t *testing.T) {
	tests := []struct {
		code, subCode string
		want          int
	}{
		{CodeUnavailable, "", http.StatusServiceUnavailable},
		{CodeRateLimited, "", http.StatusServiceUnavailable},
		{CodeBusinessFailed, "INVALID_PARAMETER", http.StatusBadRequest},
		{CodeBusinessFailed, "SYSTEM_ERROR", http.StatusServiceUnavailable},
		{CodeBusinessFailed, "ARRANGEMENT_ERROR", http.StatusBadGateway},
		{CodeBusinessFailed, "SOMETHING_NEW", http.StatusUnprocessableEntity},
		{CodeBusinessFailed, "", http.StatusUnprocessableEntity},
		{CodeInvalidArgument, "isv.invalid-signature", http.StatusBadGateway},
		{CodeInvalidArgument, "INVALID_PARAMETER", http.StatusBadGateway}, // a sub_code counts only under 40004
		{CodeNoPermission, "", http.StatusBadGateway},
		{"", "", http.StatusBadGateway},
	}
	for _, tt := range tests {
		g := &GatewayError{Code: tt.code, SubCode: tt.subCode}
		assert.Equal(t, tt.want, g.HTTPStatus(), "%s %s", tt.code, tt.subCode)
	}
}
