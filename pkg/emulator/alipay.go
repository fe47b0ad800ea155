package emulator

// This file is the Alipay open platform gateway (POST /gateway.do, and GET
// for page methods): it checks the app's RSA2 signature with the app's public
// key as the real gateway does, runs zhima.customer.certification.initialize,
// certify and query, and signs its answers with its own key. Faults and
// control are in alipay_control.go.
//
// The signature code here is written apart from pkg/alipay on purpose: the
// emulator is a second, independent reading of the same rules, so that a
// mistake in the client is not mirrored by the server it is tested against.

import (
	"crypto/rsa"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Test keys of the emulated gateway. They are not secrets: the functions'
// local configuration and the tests use them, as they use DefaultAccessKeyID.
// AlipayTestAppPrivateKey signs requests of app AlipayTestAppID, and the
// gateway verifies them with AlipayTestAppPublicKey; the gateway signs its
// answers with its own key, which AlipayTestPublicKey verifies.
var (
	//go:embed testdata/alipay/app_private_key.pem
	AlipayTestAppPrivateKey string
	//go:embed testdata/alipay/app_public_key.pem
	AlipayTestAppPublicKey string
	//go:embed testdata/alipay/gateway_public_key.pem
	AlipayTestPublicKey string
	//go:embed testdata/alipay/gateway_private_key.pem
	alipayGatewayPrivateKey string
)

// AlipayTestAppID is the app the emulated gateway knows.
const AlipayTestAppID = "2021000000000001"

// alipayPath is where the gateway listens, as the real one does.
const alipayPath = "/gateway.do"

// alipayZone is the gateway's clock: timestamps are Beijing time.
var alipayZone = time.FixedZone("GMT+8", 8*3600)

// alipayMaxSkew bounds how far a request's timestamp may be from now.
const alipayMaxSkew = 15 * time.Minute

// ZhimaCertification is one certification the emulated gateway created.
type ZhimaCertification struct {
	BizNo         string `json:"biz_no"`
	TransactionID string `json:"transaction_id"`
	ProductCode   string `json:"product_code"`
	BizCode       string `json:"biz_code"`
	// Passed is "" until the certification is completed, then "true" or
	// "false", as query answers it.
	Passed       string `json:"passed"`
	FailedReason string `json:"failed_reason,omitempty"`
}

// AlipayGateway is the emulated gateway of one Emulator (Emulator.Alipay).
// Its zero value is made ready by the Emulator's Reset. One lock guards it
// all: nothing in it touches the cloudauth state.
type AlipayGateway struct {
	mu       sync.Mutex
	appKeys  map[string]*rsa.PublicKey      // by app_id; set once, see reset
	key      *rsa.PrivateKey                // set once
	now      func() time.Time               // set once
	certs    map[string]*ZhimaCertification // by biz_no
	byTx     map[string]string              // transaction_id → biz_no
	faults   *faultTable                    // the Emulator's Alipay table, by method
	last     map[string]map[string]string   // accepted parameters, by method
	requests map[string]int64
	accepted map[string]int64
	rejected map[string]int64 // by sub_code (or code)
}

// Alipay returns e's Alipay gateway. Its state lives in the Emulator (field
// alipay), so Emulator.Reset and /_emulator/reset clear it with the rest.
func (e *Emulator) Alipay() *AlipayGateway { return &e.alipay }

// mountAlipay serves the gateway and its control API on mux.
func (e *Emulator) mountAlipay(mux *http.ServeMux) {
	g := e.Alipay()
	mux.HandleFunc("POST "+alipayPath, g.serve)
	mux.HandleFunc("GET "+alipayPath, g.serve)
	g.registerControl(mux)
}

// reset makes the zero gateway ready, then forgets certifications, faults
// and counters; Emulator.Reset calls it. The keys and the clock are set
// once, by the first call (from New, before anything is served), and never
// change after: requests read them without the lock.
func (g *AlipayGateway) reset(now func() time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.key == nil {
		g.appKeys = map[string]*rsa.PublicKey{AlipayTestAppID: mustPublicKey(AlipayTestAppPublicKey)}
		g.key = mustPrivateKey(alipayGatewayPrivateKey)
		g.now = now
	}
	g.clear()
}

// Reset forgets certifications, faults and counters.
func (g *AlipayGateway) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clear()
}

func (g *AlipayGateway) clear() {
	g.certs = map[string]*ZhimaCertification{}
	g.byTx = map[string]string{}
	g.faults.reset()
	g.last = map[string]map[string]string{}
	g.requests = map[string]int64{}
	g.accepted = map[string]int64{}
	g.rejected = map[string]int64{}
}

// alipayAnswer is the content of a response node.
type alipayAnswer map[string]string

func gwError(code, msg, subCode, subMsg string) alipayAnswer {
	return alipayAnswer{"code": code, "msg": msg, "sub_code": subCode, "sub_msg": subMsg}
}

func errBizParam(name string) alipayAnswer {
	return gwError("40004", "Business Failed", "INVALID_PARAMETER", "参数有误。参数["+name+"]不是有效的入参")
}

// serve is one gateway call.
func (g *AlipayGateway) serve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		g.write(w, "", alipayErrorNode, gwError("40002", "Invalid Arguments", "isv.invalid-parameter", "请求无法解析"), nil)
		return
	}
	params := make(map[string]string, len(r.Form))
	for k, v := range r.Form {
		params[k] = v[0]
	}
	method := params["method"]
	g.count(&g.requests, orUnknown(method))
	node, ans := g.authenticate(r, params)
	if ans != nil {
		g.write(w, method, node, ans, nil)
		return
	}
	g.mu.Lock()
	g.accepted[method]++
	g.last[method] = params
	g.mu.Unlock()

	f, faulty := g.faults.take(method)
	if faulty && f.Kind == FaultSlow {
		if !waitSlow(r, f.Delay) {
			return
		}
		faulty = false
	}
	if faulty && f.Kind == AlipayFaultUnavailable {
		g.write(w, method, node, gwError("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"), nil)
		return
	}
	var out alipayAnswer
	switch method {
	case zhimaInitialize:
		out = g.initialize(params["biz_content"])
	case zhimaQuery:
		out = g.query(params["biz_content"])
	case zhimaCertify:
		g.certifyPage(w, r, params)
		return
	}
	var fault *Fault
	if faulty {
		fault = &f
	}
	g.write(w, method, node, out, fault)
}

const (
	zhimaInitialize = "zhima.customer.certification.initialize"
	zhimaCertify    = "zhima.customer.certification.certify"
	zhimaQuery      = "zhima.customer.certification.query"
	alipayErrorNode = "error_response"
)

func orUnknown(method string) string {
	if method == "" {
		return "(none)"
	}
	return method
}

// authenticate checks the common parameters and the signature, in the
// gateway's order. It returns the node to answer in and, on failure, the
// error answer: errors about the call itself go in error_response.
func (g *AlipayGateway) authenticate(r *http.Request, p map[string]string) (string, alipayAnswer) {
	missing := func(sub, what string) alipayAnswer {
		return gwError("40001", "Missing Required Arguments", sub, "缺少"+what+"参数")
	}
	invalid := func(sub, msg string) alipayAnswer {
		return gwError("40002", "Invalid Arguments", sub, msg)
	}
	switch p["method"] {
	case "":
		return alipayErrorNode, missing("isv.missing-method", "方法名")
	case zhimaInitialize, zhimaCertify, zhimaQuery:
	default:
		return alipayErrorNode, invalid("isv.invalid-method", "不存在的方法名")
	}
	switch {
	case p["app_id"] == "":
		return alipayErrorNode, missing("isv.missing-app-id", "AppID")
	case p["sign_type"] == "":
		return alipayErrorNode, missing("isv.missing-signature-type", "签名类型")
	case p["sign"] == "":
		return alipayErrorNode, missing("isv.missing-signature", "签名")
	case p["timestamp"] == "":
		return alipayErrorNode, missing("isv.missing-timestamp", "时间戳")
	case p["version"] == "":
		return alipayErrorNode, missing("isv.missing-version", "版本")
	}
	key, ok := g.appKeys[p["app_id"]]
	if !ok {
		return alipayErrorNode, invalid("isv.invalid-app-id", "无效的AppID参数")
	}
	if p["sign_type"] != "RSA2" {
		return alipayErrorNode, invalid("isv.invalid-signature-type", "无效的签名类型参数")
	}
	if p["version"] != "1.0" {
		return alipayErrorNode, invalid("isv.invalid-version", "无效的版本参数")
	}
	if f := p["format"]; f != "" && !strings.EqualFold(f, "json") {
		return alipayErrorNode, invalid("isv.invalid-format", "无效的数据格式参数")
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04:05", p["timestamp"], alipayZone)
	if err != nil {
		return alipayErrorNode, invalid("isv.invalid-timestamp", "非法的时间戳参数")
	}
	if d := g.now().Sub(ts); d > alipayMaxSkew || d < -alipayMaxSkew {
		return alipayErrorNode, invalid("isv.invalid-timestamp", "非法的时间戳参数")
	}
	// The gateway takes the charset from the URL query, and compares it
	// byte for byte with the one that was signed.
	if r.URL.Query().Get("charset") != p["charset"] || p["charset"] != "utf-8" {
		return alipayErrorNode, invalid("isv.invalid-signature", "验签出错，请确认charset参数放在了URL查询字符串中且各参数值使用charset参数指示的字符集编码")
	}
	content := alipaySignContent(p)
	sig, err := base64.StdEncoding.DecodeString(p["sign"])
	if err != nil || !verifySHA256(key, content, sig) {
		// The real gateway echoes the string it verified, HTML-escaped.
		return alipayErrorNode, invalid("isv.invalid-signature",
			"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+html.EscapeString(content))
	}
	return strings.ReplaceAll(p["method"], ".", "_") + "_response", nil
}

// alipaySignContent: every parameter but sign, empty ones dropped, sorted
// by key, raw values joined as k=v with &.
func alipaySignContent(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k, v := range p {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	return strings.Join(parts, "&")
}

var (
	zhimaTransactionID = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	zhimaBizCodes      = map[string]bool{"FACE": true, "SMART_FACE": true, "CERT_PHOTO": true, "CERT_PHOTO_FACE": true, "FACE_SDK": true}
)

// initialize creates a certification. A transaction_id seen before gets
// its certification's biz_no again.
func (g *AlipayGateway) initialize(bizContent string) alipayAnswer {
	var biz map[string]any
	if json.Unmarshal([]byte(bizContent), &biz) != nil {
		return errBizParam("biz_content")
	}
	str := func(k string) string { s, _ := biz[k].(string); return s }
	tx := str("transaction_id")
	if !zhimaTransactionID.MatchString(tx) {
		return errBizParam("transaction_id")
	}
	if str("product_code") == "" || len(str("product_code")) > 32 {
		return errBizParam("product_code")
	}
	if !zhimaBizCodes[str("biz_code")] {
		return gwError("40004", "Business Failed", "UNSUPPORTED_BIZ_CODE", "不支持的认证场景")
	}
	var identity map[string]any
	if json.Unmarshal([]byte(str("identity_param")), &identity) != nil || identity["identity_type"] == nil {
		return errBizParam("identity_param")
	}
	if identity["identity_type"] == "CERT_INFO" {
		for _, k := range []string{"cert_type", "cert_name", "cert_no"} {
			if s, _ := identity[k].(string); s == "" {
				return errBizParam("identity_param")
			}
		}
	}
	for _, k := range []string{"merchant_config", "ext_biz_param"} {
		if s := str(k); s != "" && !json.Valid([]byte(s)) {
			return errBizParam(k)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	bizNo, seen := g.byTx[tx]
	if !seen {
		bizNo = randomHex(16)
		g.byTx[tx] = bizNo
		g.certs[bizNo] = &ZhimaCertification{BizNo: bizNo, TransactionID: tx, ProductCode: str("product_code"), BizCode: str("biz_code")}
	}
	return alipayAnswer{"code": "10000", "msg": "Success", "biz_no": bizNo}
}

func (g *AlipayGateway) query(bizContent string) alipayAnswer {
	var biz struct {
		BizNo string `json:"biz_no"`
	}
	if json.Unmarshal([]byte(bizContent), &biz) != nil || biz.BizNo == "" {
		return errBizParam("biz_no")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.certs[biz.BizNo]
	if !ok {
		return errBizParam("biz_no")
	}
	out := alipayAnswer{"code": "10000", "msg": "Success", "passed": "false",
		"identity_info": "{}", "attribute_info": "{}", "channel_statuses": "[]"}
	switch c.Passed {
	case "true":
		out["passed"] = "true"
	case "false":
		out["failed_reason"] = c.FailedReason
	default:
		out["failed_reason"] = "认证未完成"
	}
	return out
}

// write answers in the gateway's shape: {"<node>":{...},"sign":"..."}, the
// sign over the node's exact bytes. Like the real gateway, it writes "/" as
// "\/", so a client that re-serialises before verifying fails here too.
func (g *AlipayGateway) write(w http.ResponseWriter, method, node string, ans alipayAnswer, fault *Fault) {
	if c := ans["code"]; c != "10000" {
		key := ans["sub_code"]
		if key == "" {
			key = c
		}
		g.count(&g.rejected, key)
	}
	for k, v := range ans {
		if v == "" {
			delete(ans, k)
		}
	}
	b, _ := json.Marshal(ans)
	content := strings.ReplaceAll(string(b), "/", `\/`)
	sign := base64.StdEncoding.EncodeToString(signSHA256(g.key, content))
	body := `{"` + node + `":` + content + `,"sign":"` + sign + `"}`
	if fault != nil {
		body = alipayFaultBody(fault, node, content, sign)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write([]byte(body))
}

// certifyPage is the page zhima.customer.certification.certify opens in
// the user's browser: it shows the certification and lets a person pass or
// fail it, then goes on to return_url as the real flow does.
func (g *AlipayGateway) certifyPage(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	var biz struct {
		BizNo string `json:"biz_no"`
	}
	_ = json.Unmarshal([]byte(p["biz_content"]), &biz)
	c, ok := g.Certification(biz.BizNo)
	if !ok {
		http.Error(w, "unknown biz_no", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	form := func(passed string) string {
		return `<form method="post" action="/_emulator/alipay/certifications/` + html.EscapeString(c.BizNo) + `/complete">` +
			`<input type="hidden" name="passed" value="` + passed + `">` +
			`<input type="hidden" name="return_url" value="` + html.EscapeString(p["return_url"]) + `">` +
			`<button>passed=` + passed + `</button></form>`
	}
	_, _ = w.Write([]byte(`<!doctype html><title>Zhima certification (emulator)</title>` +
		`<h1>Zhima certification ` + html.EscapeString(c.BizNo) + `</h1><p>passed: ` + html.EscapeString(c.Passed) + `</p>` +
		form("true") + form("false")))
}

// Certification returns the certification bizNo.
func (g *AlipayGateway) Certification(bizNo string) (ZhimaCertification, bool) {
	return copyOf(&g.mu, &g.certs, bizNo)
}

// Complete sets a certification's result, as the user finishing it would.
func (g *AlipayGateway) Complete(bizNo string, passed bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.certs[bizNo]
	if !ok {
		return false
	}
	c.Passed, c.FailedReason = "true", ""
	if !passed {
		c.Passed, c.FailedReason = "false", "认证未通过"
	}
	return true
}

func (g *AlipayGateway) count(m *map[string]int64, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	(*m)[key]++
}
