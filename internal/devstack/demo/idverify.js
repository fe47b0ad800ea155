// idverify.js: a browser client of the fc-kyc functions (ekyc-init,
// zhima-init, otp-init, bank-verify and result). One ES module, no
// dependencies: copy it into your front-end as it is.
//
//   import { IdVerify } from './idverify.js';
//   const kyc = new IdVerify({
//     endpoints: { ekycInit: 'https://…', zhimaInit: '…', otpInit: '…', bankVerify: '…', result: '…' },
//     getToken: async () => myIdentityProvider.accessToken(),  // AUTH_MODE=jwt
//   });
//   const started = await kyc.startEKYC({ MetaInfo: getMetaInfo(), DocType: '01560000' });
//   location.assign(started.Result.TransactionUrl);            // or open it in a new tab
//   const done = await kyc.waitForResult({ MerchantBizId: started.MerchantBizId });
//   // done.status: passed | failed | expired
//
// Every call is a POST with a JSON body and "Authorization: Bearer <token>",
// so the browser sends a CORS preflight first: your page's origin must be in
// the functions' CORS_ALLOWED_ORIGINS. A call the functions refuse throws an
// IdVerifyError (status, code, message, retryAfter); one the browser refuses
// (CORS, network) throws the browser's TypeError.

/** A refusal by a function, whatever vocabulary it answers in. */
export class IdVerifyError extends Error {
  constructor(status, body, retryAfter) {
    const b = body || {};
    // cloudauth-style {Code, Message}; Alipay-style {code, msg, sub_code,
    // sub_msg}; Antom-style {result: {resultCode, resultMessage}}.
    const code = b.Code || b.sub_code || b.code || (b.result && b.result.resultCode) || 'HTTP' + status;
    const message = b.Message || b.sub_msg || b.msg || (b.result && b.result.resultMessage) || 'HTTP status ' + status;
    super(code + ': ' + message);
    this.name = 'IdVerifyError';
    this.status = status;
    this.code = code;
    this.body = body;
    /** Seconds to wait before trying again (429, 503), or 0. */
    this.retryAfter = retryAfter;
  }
}

/** The final statuses of a recorded result. */
export const FINAL = ['passed', 'failed', 'expired'];

/** What bank-verify's ResultObject.BizCode says (the answer also carries BizCodeMeaning and SubCodeMeaning). */
export const BANK_BIZ_CODES = {
  '1': 'consistent: the card, the name and the other factors match (billed)',
  '2': 'inconsistent: at least one factor does not match; SubCode says which (billed)',
  '3': 'no record: the bank could not check the card (not billed)',
};

export class IdVerify {
  /**
   * @param {{endpoints: {ekycInit?: string, zhimaInit?: string, otpInit?: string, bankVerify?: string, result?: string},
   *          getToken?: () => Promise<string>|string, fetch?: typeof fetch}} options
   */
  constructor({ endpoints, getToken, fetch: f }) {
    this.endpoints = endpoints || {};
    this.getToken = getToken;
    this.fetch = f || globalThis.fetch.bind(globalThis);
  }

  /** POSTs body as JSON to the endpoint called name (plus path) and returns the answer's JSON. */
  async call(name, body, { path = '', signal } = {}) {
    const base = this.endpoints[name];
    if (!base) throw new Error('idverify: no endpoint ' + name);
    const headers = { 'Content-Type': 'application/json' };
    if (this.getToken) headers.Authorization = 'Bearer ' + (await this.getToken());
    const resp = await this.fetch(base.replace(/\/$/, '') + '/' + path.replace(/^\//, ''), {
      method: 'POST', headers, body: JSON.stringify(body), signal, mode: 'cors', credentials: 'omit',
    });
    let json = null;
    try { json = await resp.json(); } catch { /* not JSON: the status says enough */ }
    if (!resp.ok) throw new IdVerifyError(resp.status, json, Number(resp.headers.get('Retry-After')) || 0);
    return json;
  }

  /** ekyc-init: {RequestId, Code, Message, Result: {TransactionId, TransactionUrl, …}, MerchantBizId}. */
  startEKYC(request, opts) { return this.call('ekycInit', request, opts); }

  /** zhima-init: {code, msg, biz_no, transaction_id, certify_url}. */
  startZhima(request, opts) { return this.call('zhimaInit', request, opts); }

  /** otp-init: sends a code by SMS or e-mail. */
  sendOTP(request, opts) { return this.call('otpInit', request, opts); }

  /** otp-init /verify: {isPassed, …}. */
  verifyOTP(request, opts) { return this.call('otpInit', request, { ...opts, path: 'verify' }); }

  /** bank-verify: {ResultObject: {BizCode, SubCode}, BizCodeMeaning, SubCodeMeaning, …}. */
  verifyBankCard(request, opts) { return this.call('bankVerify', request, opts); }

  /**
   * result: the recorded state of your transaction, named by one of
   * {MerchantBizId} (eKYC), {transaction_id} or {biz_no} (Zhima). wait
   * (0–20 s) holds the answer until the result is recorded.
   * Resolves to {kind, merchantBizId, transactionId, status, passed, subCode, recordedAt}.
   */
  result(id, { wait = 0, signal } = {}) { return this.call('result', { ...id, wait }, { signal }); }

  /**
   * Asks result again and again (each a long poll of up to 20 s) until the
   * status is final or timeoutMs has passed; onUpdate sees every answer.
   * Resolves to the last answer (status pending when the time ran out).
   */
  async waitForResult(id, { timeoutMs = 10 * 60 * 1000, signal, onUpdate } = {}) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.max(0, Math.min(20, Math.floor((end - Date.now()) / 1000)));
      let r;
      try {
        r = await this.result(id, { wait: left, signal });
      } catch (e) {
        if (!(e instanceof IdVerifyError) || !e.retryAfter || Date.now() > end) throw e;
        await sleep(e.retryAfter * 1000, signal);
        continue;
      }
      if (onUpdate) onUpdate(r);
      if (FINAL.includes(r.status) || left === 0) return r;
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}
