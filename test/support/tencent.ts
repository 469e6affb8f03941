// Assertions on Tencent envelopes, shared by the Tencent dialect's tests.
import assert from 'node:assert/strict';

export interface Reply {
  ActionStatus: string;
  ErrorCode: number;
  ErrorInfo: string;
  RequestId: string;
  Response?: any;
}

export function ok(r: Reply): void {
  assert.equal(r.ErrorCode, 0, `expected success, got ${r.ErrorCode} ${r.ErrorInfo}`);
  assert.equal(r.ActionStatus, 'OK');
  assert.equal(r.ErrorInfo, '');
}

/** A failure with `code`; for 100002, `field` is the wire name ErrorInfo must point at. */
export function failed(r: Reply, code: number, field?: string): void {
  assert.equal(r.ErrorCode, code, `expected ${code}, got ${r.ErrorCode} ${r.ErrorInfo}`);
  assert.equal(r.ActionStatus, 'FAIL');
  assert.equal(r.Response, undefined);
  assert.ok(r.ErrorInfo.length > 0);
  if (field !== undefined) assert.ok(r.ErrorInfo.includes(`invalid parameter ${field}:`), `ErrorInfo should name ${field}: ${r.ErrorInfo}`);
}
