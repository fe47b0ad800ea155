// The demo page's own script: the four flows, written against idverify.js
// as a merchant's front-end would be.
import { IdVerify, BANK_BIZ_CODES } from './idverify.js';

const $ = (id) => document.getElementById(id);
const show = (id, value) => { const el = $(id); el.hidden = false; el.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); };
const step = (id, text, isError) => { const el = $(id); el.textContent = text; el.className = isError ? 'error' : ''; };
const newId = (prefix) => prefix + Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

// The signed-in user survives the trip to the Zhima certify page and back.
const user = $('user');
user.value = sessionStorage.getItem('demo-user') || 'alice';
user.addEventListener('change', () => { sessionStorage.setItem('demo-user', user.value); tokens = {}; });
$('origin').textContent = location.origin;

let tokens = {};
async function getToken() {
  const u = user.value;
  const t = tokens[u];
  if (t && t.until > Date.now()) return t.token;
  const resp = await fetch('/token?user=' + encodeURIComponent(u));
  if (!resp.ok) throw new Error('the identity provider refused: HTTP ' + resp.status);
  const body = await resp.json();
  tokens[u] = { token: body.token, until: Date.now() + (body.expiresIn - 60) * 1000 };
  return body.token;
}

const config = await (await fetch('/config.json')).json();
const kyc = new IdVerify({ endpoints: config.endpoints, getToken });

// A failure, as a person should read it: a function's refusal, or the
// browser's (CORS: the page's origin is not allowed; nothing was sent).
function failed(where, e) {
  const text = e && e.name === 'IdVerifyError'
    ? `refused by the function: HTTP ${e.status} ${e.message}`
    : `refused by the browser (CORS or network; see the console): ${e}`;
  step(where, text, true);
}

function showResult(where, r) {
  show(where, r);
  $(where).className = ['passed', 'failed', 'expired'].includes(r.status) ? 'final' : '';
}

// 1. eKYC: start, open the TransactionUrl, wait for the recorded result.
$('ekyc-start').addEventListener('click', async () => {
  try {
    step('ekyc-step', 'starting…');
    const started = await kyc.startEKYC({
      MerchantBizId: newId('demo'),
      // A real page passes the eKYC web SDK's getMetaInfo(); the emulator takes this one.
      MetaInfo: { zimVer: '3.0.0', appName: 'com.example.demo', deviceType: 'h5' },
      DocType: '01560000', // MerchantUserId: under AUTH_MODE=jwt the function uses the token's subject
    });
    const link = $('ekyc-open');
    link.href = started.Result.TransactionUrl;
    link.hidden = false;
    link.dataset.merchantBizId = started.MerchantBizId;
    step('ekyc-step', `started: MerchantBizId ${started.MerchantBizId}, TransactionId ${started.Result.TransactionId}. Waiting for the result…`);
    const r = await kyc.waitForResult({ MerchantBizId: started.MerchantBizId }, { onUpdate: (u) => showResult('ekyc-result', u) });
    step('ekyc-step', `recorded: ${r.status}`);
    showResult('ekyc-result', r);
    $('lookup-id').value = started.MerchantBizId;
  } catch (e) { failed('ekyc-step', e); }
});

// 2. Zhima: start, go to the certify page in this tab; the callback sends
// the browser back here (ZHIMA_DONE_URL) with transaction_id and biz_no.
$('zhima-start').addEventListener('click', async () => {
  try {
    step('zhima-step', 'starting…');
    const started = await kyc.startZhima({
      transaction_id: newId('ZM_'), biz_code: 'FACE',
      identity_param: { identity_type: 'CERT_INFO', cert_type: 'IDENTITY_CARD', cert_name: '张三', cert_no: '260104197909275964' },
    });
    sessionStorage.setItem('demo-user', user.value);
    step('zhima-step', `started: biz_no ${started.biz_no}; going to the certify page…`);
    location.assign(started.certify_url);
  } catch (e) { failed('zhima-step', e); }
});

async function zhimaReturned() {
  const q = new URLSearchParams(location.search);
  if (q.get('flow') !== 'zhima' || !q.get('biz_no')) return;
  try {
    step('zhima-step', `back from the certify page: transaction_id ${q.get('transaction_id')}, biz_no ${q.get('biz_no')}. Asking for the result…`);
    const r = await kyc.waitForResult({ biz_no: q.get('biz_no') }, { timeoutMs: 60000, onUpdate: (u) => showResult('zhima-result', u) });
    step('zhima-step', `recorded: ${r.status}`);
    showResult('zhima-result', r);
    $('lookup-kind').value = 'biz_no';
    $('lookup-id').value = q.get('biz_no');
  } catch (e) { failed('zhima-step', e); }
}

// 3. OTP: send, read what the emulator "sent" (through this origin), verify.
let otpId = '';
$('otp-send').addEventListener('click', async () => {
  try {
    otpId = newId('otp-');
    const r = await kyc.sendOTP({ authenticationType: 'OTP', authenticationRequestId: otpId,
      authenticationChannelType: 'SMS', userIdentityType: 'WALLET_TOKEN', userIdentityValue: 'wallet-token-1' });
    step('otp-step', `sent: authenticationRequestId ${otpId} (resultStatus ${r.result && r.result.resultStatus})`);
    $('otp-fetch').disabled = false;
  } catch (e) { failed('otp-step', e); }
});
$('otp-fetch').addEventListener('click', async () => {
  const resp = await fetch('/emulator/otp/' + encodeURIComponent(otpId));
  const body = await resp.json();
  if (!resp.ok) { step('otp-step', 'the emulator has no code: ' + JSON.stringify(body), true); return; }
  $('otp-code').value = body.otp;
  $('otp-verify').disabled = false;
  step('otp-step', 'the code the emulator "sent" is in the box');
});
$('otp-verify').addEventListener('click', async () => {
  try {
    const r = await kyc.verifyOTP({ authenticationType: 'OTP', authenticationRequestId: otpId, authenticationValue: $('otp-code').value });
    step('otp-step', r.isPassed ? 'verified: the code is right' : 'not verified: the code is wrong');
    show('otp-result', r);
  } catch (e) { failed('otp-step', e); }
});

// 4. Bank card: the answer's codes and what they mean.
$('bank-verify').addEventListener('click', async () => {
  const type = $('bank-type').value;
  const req = { ProductType: type, BankCard: $('bank-card').value, UserName: '张三' };
  if (type !== 'BANK_CARD_2_META') req.IdentifyNum = '11010519491231002X';
  if (type === 'BANK_CARD_4_META') req.Mobile = '13812345678';
  try {
    const r = await kyc.verifyBankCard(req);
    const o = r.ResultObject;
    show('bank-result', `${type}: BizCode ${o.BizCode}, ${BANK_BIZ_CODES[o.BizCode] || r.BizCodeMeaning}\nSubCode ${o.SubCode}: ${r.SubCodeMeaning}\n\n` + JSON.stringify(r, null, 2));
  } catch (e) { show('bank-result', String(e)); $('bank-result').className = 'error'; }
});

// Look up: any id, as the signed-in user.
$('lookup-go').addEventListener('click', async () => {
  try {
    showResult('lookup-result', await kyc.result({ [$('lookup-kind').value]: $('lookup-id').value.trim() }));
  } catch (e) { show('lookup-result', String(e)); $('lookup-result').className = 'error'; }
});

$('ready').textContent = 'ready';
zhimaReturned();
